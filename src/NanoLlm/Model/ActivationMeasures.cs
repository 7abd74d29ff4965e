namespace NanoLlm.Model;

/// <summary>
/// Mean, standard deviation and saturated fraction of an activation, for <see cref="IActivationInspection"/>. Plain
/// loops in double: they run every <c>diagnostics_interval</c> steps, not in the training step.
/// </summary>
internal static class ActivationMeasures
{
    /// <summary>GELU's flat tail: below this input GELU′ is within 0.012 of 0, so the unit passes almost no gradient.</summary>
    public const float GeluSaturatedBelow = -3f;

    /// <summary>An attention row with this much weight on one key is nearly one-hot: its softmax passes almost no gradient.</summary>
    public const float AttentionSaturatedAbove = 0.99f;

    // a = GELU(h) (tanh form, as the model computes it); saturated: h < −3
    public static ActivationStatistics Gelu(string site, ReadOnlySpan<float> preActivation)
    {
        var moments = new Moments();
        long saturated = 0;
        foreach (var h in preActivation)
        {
            moments.Add(0.5 * h * (1 + Math.Tanh(0.7978845608028654 * (h + (0.044715 * h * h * h)))));
            saturated += h < GeluSaturatedBelow ? 1 : 0;
        }
        return moments.Statistics(site, preActivation.Length == 0 ? 0 : (double)saturated / preActivation.Length);
    }

    // a = max(0, h); saturated (dead): h ≤ 0
    public static ActivationStatistics Relu(string site, ReadOnlySpan<float> preActivation)
    {
        var moments = new Moments();
        long saturated = 0;
        foreach (var h in preActivation)
        {
            moments.Add(Math.Max(0f, h));
            saturated += h <= 0 ? 1 : 0;
        }
        return moments.Statistics(site, preActivation.Length == 0 ? 0 : (double)saturated / preActivation.Length);
    }

    /// <summary>
    /// Over the causal entries (j ≤ i) of <paramref name="matrices"/> attention matrices <c>[t, t]</c>. Saturated: the
    /// rows i ≥ 1 whose largest weight reaches 0.99 (row 0 has one key and is one-hot by construction).
    /// </summary>
    public static ActivationStatistics CausalAttention(string site, ReadOnlySpan<float> weights, int matrices, int t)
    {
        var moments = new Moments();
        long saturated = 0;
        for (var m = 0; m < matrices; m++)
        {
            for (var i = 0; i < t; i++)
            {
                var row = weights.Slice(((m * t) + i) * t, i + 1);
                var largest = 0f;
                foreach (var p in row)
                {
                    moments.Add(p);
                    largest = Math.Max(largest, p);
                }
                saturated += i > 0 && largest >= AttentionSaturatedAbove ? 1 : 0;
            }
        }
        var rows = (long)matrices * (t - 1);
        return moments.Statistics(site, rows <= 0 ? 0 : (double)saturated / rows);
    }

    private struct Moments
    {
        private long _count;
        private double _sum;
        private double _sumOfSquares;

        public void Add(double value)
        {
            _count++;
            _sum += value;
            _sumOfSquares += value * value;
        }

        // std = √(E[a²] − E[a]²), the population form
        public readonly ActivationStatistics Statistics(string site, double saturated)
        {
            if (_count == 0)
            {
                return new ActivationStatistics(site, 0, 0, saturated);
            }
            var mean = _sum / _count;
            return new ActivationStatistics(site, mean, Math.Sqrt(Math.Max(0, (_sumOfSquares / _count) - (mean * mean))), saturated);
        }
    }
}
