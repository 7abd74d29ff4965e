using NanoLlm.Config;

namespace NanoLlm.Sampling;

/// <summary>
/// Logits in, token out (llama2.c's sampler, apart from the model). Temperature 0 is greedy; otherwise one draw
/// from softmax(logits / temperature) with a seeded generator, so the same seed gives the same text.
/// </summary>
public sealed class Sampler
{
    private readonly float[] _probabilities;
    private readonly Random _random;

    public Sampler(SamplingSettings settings, int vocabSize)
    {
        Settings = settings;
        _probabilities = new float[vocabSize];
        _random = new Random(settings.Seed);
    }

    public SamplingSettings Settings { get; }

    public int Next(ReadOnlySpan<float> logits)
    {
        if (Settings.Temperature == 0)
        {
            return ArgMax(logits);
        }

        // p = softmax(logits / τ), computed max-subtracted so large logits do not overflow
        var probabilities = _probabilities.AsSpan(0, logits.Length);
        var max = logits[ArgMax(logits)];
        var inverseTemperature = (float)(1 / Settings.Temperature);
        double sum = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            probabilities[i] = MathF.Exp((logits[i] - max) * inverseTemperature);
            sum += probabilities[i];
        }

        // Inverse-CDF draw: the first token whose cumulative mass passes u·Σp.
        var threshold = _random.NextDouble() * sum;
        double cumulative = 0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            cumulative += probabilities[i];
            if (cumulative > threshold)
            {
                return i;
            }
        }
        return ArgMax(logits);
    }

    /// <summary>The index of the largest logit; the lowest index among ties.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }
}
