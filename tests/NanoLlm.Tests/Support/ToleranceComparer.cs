namespace NanoLlm.Tests.Support;

/// <summary>Float equality within an absolute tolerance, for comparing whole arrays.</summary>
public sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(float obj) => 0;
}
