namespace NanoLlm.Tensors;

/// <summary>The rectified linear unit, max(0, x).</summary>
public static class Relu
{
    // y = max(0, x)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x)
    {
        for (var i = 0; i < x.Length; i++)
        {
            y[i] = x[i] > 0f ? x[i] : 0f;
        }
    }

    // dx += dy · [x > 0]
    public static void Backward(Span<float> dx, ReadOnlySpan<float> x, ReadOnlySpan<float> dy)
    {
        for (var i = 0; i < x.Length; i++)
        {
            if (x[i] > 0f)
            {
                dx[i] += dy[i];
            }
        }
    }
}
