namespace NanoLlm.Model;

/// <summary>Seeded random initial values for parameters.</summary>
public static class Initialization
{
    /// <summary>Fills <paramref name="values"/> with N(0, σ²) draws (Box–Muller over <paramref name="random"/>).</summary>
    public static void Normal(Span<float> values, double standardDeviation, Random random)
    {
        for (var i = 0; i < values.Length; i += 2)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var radius = Math.Sqrt(-2.0 * Math.Log(u1)) * standardDeviation;
            values[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < values.Length)
            {
                values[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
            }
        }
    }
}
