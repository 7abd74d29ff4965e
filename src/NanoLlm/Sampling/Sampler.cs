using NanoLlm.Config;

namespace NanoLlm.Sampling;

/// <summary>
/// Logits in, token out (llama2.c's sampler, apart from the model), in this order: repetition penalty → temperature →
/// top-k → top-p → one draw from a seeded generator, so the same seed and context give the same tokens. Temperature 0
/// is greedy. The sampler keeps the last <c>contextLength</c> tokens it was shown (<see cref="Append"/>) for the
/// repetition penalty. Every buffer is allocated here, so drawing a token allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly int _vocabSize;

    // penalized logits[V], then the unnormalized probabilities exp((s − max) / τ)[V]
    private readonly float[] _scores;
    private readonly float[] _weights;

    // Top-k and top-p: a max-heap of token ids by weight, and the ids popped from it, most likely first.
    private readonly int[] _heap;
    private readonly int[] _ranked;
    private readonly int[] _everyToken;

    // The context window: a ring of the last contextLength tokens and how often each token occurs in it.
    private readonly int[] _window;
    private readonly int[] _windowCounts;
    private int _windowFilled;
    private int _nextSlot;

    private SamplingSettings _settings;
    private Random _random;

    /// <param name="contextLength">How many of the latest tokens the repetition penalty looks at: the model's context length.</param>
    public Sampler(SamplingSettings settings, int vocabSize, int contextLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        Validate(settings);
        _settings = settings;
        _random = new Random(settings.Seed);
        _vocabSize = vocabSize;
        _scores = new float[vocabSize];
        _weights = new float[vocabSize];
        _heap = new int[vocabSize];
        _ranked = new int[vocabSize];
        _everyToken = [.. Enumerable.Range(0, vocabSize)];
        _window = new int[contextLength];
        _windowCounts = new int[vocabSize];
    }

    /// <summary>
    /// The controls in use; new ones apply from the next draw. A different seed restarts the random stream from it;
    /// otherwise the stream goes on where it was.
    /// </summary>
    public SamplingSettings Settings
    {
        get => _settings;
        set
        {
            Validate(value);
            if (value.Seed != _settings.Seed)
            {
                _random = new Random(value.Seed);
            }
            _settings = value;
        }
    }

    /// <summary>Adds a token the model was fed (prompt and drawn tokens alike) to the context window.</summary>
    public void Append(int token)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)token, (uint)_vocabSize, nameof(token));
        if (_windowFilled == _window.Length)
        {
            _windowCounts[_window[_nextSlot]]--;
        }
        else
        {
            _windowFilled++;
        }
        _window[_nextSlot] = token;
        _windowCounts[token]++;
        _nextSlot = (_nextSlot + 1) % _window.Length;
    }

    /// <summary>Empties the context window, as when the model's context is reset.</summary>
    public void ForgetContext()
    {
        Array.Clear(_windowCounts);
        _windowFilled = 0;
        _nextSlot = 0;
    }

    /// <summary>Draws the next token from <c>logits[V]</c>.</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (logits.Length != _vocabSize)
        {
            throw new ArgumentException($"Expected {_vocabSize} logits, got {logits.Length}.", nameof(logits));
        }
        var settings = _settings;
        logits.CopyTo(_scores);
        if (settings.RepetitionPenalty != 1)
        {
            ApplyRepetitionPenalty(_scores, settings.RepetitionPenalty);
        }
        if (settings.Temperature == 0)
        {
            return ArgMax(_scores);
        }

        var total = ToWeights(_weights, _scores, settings.Temperature);
        var topK = settings.TopK == 0 ? _vocabSize : Math.Min(settings.TopK, _vocabSize);
        int kept;
        if (topK < _vocabSize)
        {
            var (ranked, rankedMass) = RankBest(_weights, topK, minWeight: 0, stopAtMass: double.PositiveInfinity);
            kept = settings.TopP == 1 ? ranked : NucleusSize(_weights, _ranked.AsSpan(0, ranked), settings.TopP * rankedMass);
        }
        else if (settings.TopP < 1)
        {
            // Popping in order of probability, the nucleus is complete as soon as the popped mass reaches p.
            (kept, _) = RankBest(_weights, _vocabSize, NucleusCandidateCutoff(total, settings.TopP), stopAtMass: settings.TopP * total);
        }
        else
        {
            return Draw(_weights, _everyToken);
        }
        return Draw(_weights, _ranked.AsSpan(0, kept));
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

    // CTRL (Keskar et al. 2019, §4.1), in its usual form for signed logits: s ← s / θ if s > 0, else s · θ — both lower
    // the token's odds — once for each distinct token in the context window.
    private void ApplyRepetitionPenalty(Span<float> scores, double penalty)
    {
        var theta = (float)penalty;
        for (var i = 0; i < scores.Length; i++)
        {
            if (_windowCounts[i] > 0)
            {
                scores[i] = scores[i] > 0 ? scores[i] / theta : scores[i] * theta;
            }
        }
    }

    // w = exp((s − max s) / τ), the softmax before normalization (subtracting the max keeps exp from overflowing); returns Σw.
    private static double ToWeights(Span<float> weights, ReadOnlySpan<float> scores, double temperature)
    {
        var max = scores[ArgMax(scores)];
        var inverseTemperature = (float)(1 / temperature);
        double total = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            weights[i] = MathF.Exp((scores[i] - max) * inverseTemperature);
            total += weights[i];
        }
        return total;
    }

    // Top-p alone needs no token below (1 − p)/V of the mass: there are at most V such tokens, so together they hold
    // less than 1 − p, and the nucleus lies among the others (llama2.c's cutoff, with V for its n − 1 so that it holds
    // even when p is below every probability).
    private double NucleusCandidateCutoff(double total, double topP) => (1 - topP) / _vocabSize * total;

    /// <summary>
    /// Puts the tokens weighing at least <paramref name="minWeight"/> on a max-heap (built in O(V)) and pops them into
    /// <c>_ranked</c>, most likely first, until <paramref name="count"/> are out or their mass reaches
    /// <paramref name="stopAtMass"/>: O(V + k log V), no sort of the vocabulary. Returns how many and their mass.
    /// </summary>
    private (int Count, double Mass) RankBest(ReadOnlySpan<float> weights, int count, double minWeight, double stopAtMass)
    {
        var heapSize = 0;
        for (var token = 0; token < weights.Length; token++)
        {
            if (weights[token] >= minWeight)
            {
                _heap[heapSize++] = token;
            }
        }
        for (var i = (heapSize / 2) - 1; i >= 0; i--)
        {
            SiftDown(_heap, heapSize, i, weights);
        }

        var ranked = 0;
        double mass = 0;
        while (ranked < count && heapSize > 0 && mass < stopAtMass)
        {
            var best = _heap[0];
            _heap[0] = _heap[--heapSize];
            SiftDown(_heap, heapSize, 0, weights);
            _ranked[ranked++] = best;
            mass += weights[best];
        }
        return (ranked, mass);
    }

    // Restores parent ≥ children below position i of a max-heap of token ids ordered by weight.
    private static void SiftDown(Span<int> heap, int size, int i, ReadOnlySpan<float> weights)
    {
        while (true)
        {
            var largest = i;
            var left = (2 * i) + 1;
            var right = left + 1;
            if (left < size && weights[heap[left]] > weights[heap[largest]])
            {
                largest = left;
            }
            if (right < size && weights[heap[right]] > weights[heap[largest]])
            {
                largest = right;
            }
            if (largest == i)
            {
                return;
            }
            (heap[i], heap[largest]) = (heap[largest], heap[i]);
            i = largest;
        }
    }

    /// <summary>Top-p (Holtzman et al. 2020): the length of the shortest prefix of <paramref name="ranked"/> whose mass reaches <paramref name="target"/>.</summary>
    private static int NucleusSize(ReadOnlySpan<float> weights, ReadOnlySpan<int> ranked, double target)
    {
        double mass = 0;
        for (var i = 0; i < ranked.Length; i++)
        {
            mass += weights[ranked[i]];
            if (mass >= target)
            {
                return i + 1;
            }
        }
        return ranked.Length;
    }

    // Inverse-CDF draw: the first candidate whose cumulative weight passes u · Σw, u uniform in [0, 1). Only the kept
    // candidates are summed, which renormalizes the distribution over them.
    private int Draw(ReadOnlySpan<float> weights, ReadOnlySpan<int> candidates)
    {
        double mass = 0;
        foreach (var token in candidates)
        {
            mass += weights[token];
        }
        var threshold = _random.NextDouble() * mass;
        double cumulative = 0;
        var lastLikely = candidates[0];
        foreach (var token in candidates)
        {
            if (weights[token] > 0)
            {
                lastLikely = token;
                cumulative += weights[token];
                if (cumulative > threshold)
                {
                    return token;
                }
            }
        }
        // u · Σw can round up to Σw itself; the draw then belongs to the last token with any weight.
        return lastLikely;
    }

    private static void Validate(SamplingSettings settings)
    {
        if (!(settings.Temperature >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Temperature, "Temperature must be 0 (greedy) or more.");
        }
        if (settings.TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.TopK, "Top-k must be 0 (off) or more.");
        }
        if (!(settings.TopP > 0 && settings.TopP <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.TopP, "Top-p must be in (0, 1].");
        }
        if (!(settings.RepetitionPenalty >= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.RepetitionPenalty, "The repetition penalty must be 1 (off) or more.");
        }
    }
}
