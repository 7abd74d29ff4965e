using NanoLlm.Config;
using NanoLlm.Sampling;
using NanoLlm.Tests.Tensors;

namespace NanoLlm.Tests.Sampling;

public sealed class SamplerTests
{
    // χ² critical values at a 0.1 % significance level by degrees of freedom: a correct sampler fails a test one time in
    // a thousand seeds, and every test here uses a fixed seed, so the outcome is settled once.
    private static readonly double[] ChiSquareCritical = [double.NaN, 10.828, 13.816, 16.266, 18.467, 20.515, 22.458];

    private static Sampler Create(SamplingSettings settings, int vocabSize, int contextLength = 8) => new(settings, vocabSize, contextLength);

    private static int[] CountDraws(Sampler sampler, float[] logits, int draws)
    {
        var counts = new int[logits.Length];
        for (var i = 0; i < draws; i++)
        {
            counts[sampler.Next(logits)]++;
        }
        return counts;
    }

    /// <summary>Pearson's χ² of <paramref name="counts"/> against <paramref name="probabilities"/>, over the tokens expected at all.</summary>
    private static void AssertFollows(double[] probabilities, int[] counts)
    {
        var draws = counts.Sum();
        double chiSquare = 0;
        var categories = 0;
        for (var token = 0; token < counts.Length; token++)
        {
            if (probabilities[token] == 0)
            {
                Assert.True(counts[token] == 0, $"token {token} has probability 0 but was drawn {counts[token]} times");
                continue;
            }
            var expected = probabilities[token] * draws;
            chiSquare += (counts[token] - expected) * (counts[token] - expected) / expected;
            categories++;
        }
        if (categories == 1)
        {
            return;
        }
        var critical = ChiSquareCritical[categories - 1];
        Assert.True(chiSquare < critical, $"χ² = {chiSquare:F2} over {categories - 1} degrees of freedom is above {critical}: counts {string.Join(", ", counts)}");
    }

    private static double[] Softmax(float[] logits, double temperature = 1)
    {
        var max = logits.Max();
        var weights = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        var total = weights.Sum();
        return [.. weights.Select(w => w / total)];
    }

    private static double[] Renormalized(double[] probabilities, params int[] kept)
    {
        var mass = kept.Sum(token => probabilities[token]);
        return [.. probabilities.Select((p, token) => kept.Contains(token) ? p / mass : 0)];
    }

    private static float[] LogitsOf(params double[] probabilities) => [.. probabilities.Select(p => (float)Math.Log(p))];

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        var sampler = Create(new SamplingSettings(Temperature: 0), 4);

        Assert.Equal(2, sampler.Next([0.1f, 0.5f, 3f, 2.9f]));
    }

    [Fact]
    public void A_temperature_near_zero_draws_what_greedy_picks()
    {
        // Logits 0.1 apart: at τ = 0.001 the runner-up has e^-100 of the winner's weight.
        var logits = Enumerable.Range(0, 20).Select(i => 0.1f * ((i * 7) % 20)).ToArray();
        var greedy = Create(new SamplingSettings(Temperature: 0), 20).Next(logits);
        var sampler = Create(new SamplingSettings(Temperature: 1e-3, Seed: 5), 20);

        var draws = Enumerable.Range(0, 1000).Select(_ => sampler.Next(logits)).Distinct();

        Assert.Equal([greedy], draws);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void Draws_follow_the_softmax_of_the_logits_divided_by_the_temperature(double temperature)
    {
        float[] logits = [0f, 0.7f, -0.4f, 1.1f, 0.3f];
        var sampler = Create(new SamplingSettings(Temperature: temperature, Seed: 9), 5);

        var counts = CountDraws(sampler, logits, 20_000);

        AssertFollows(Softmax(logits, temperature), counts);
    }

    [Fact]
    public void The_same_seed_gives_the_same_draws_with_every_control_on()
    {
        var logits = Enumerable.Range(0, 30).Select(i => MathF.Sin(i)).ToArray();
        var settings = new SamplingSettings(Temperature: 1.3, TopK: 12, TopP: 0.9, RepetitionPenalty: 1.3, Seed: 42);

        int[] Draw()
        {
            var sampler = Create(settings, 30);
            var tokens = new int[200];
            for (var i = 0; i < tokens.Length; i++)
            {
                tokens[i] = sampler.Next(logits);
                sampler.Append(tokens[i]);
            }
            return tokens;
        }

        var first = Draw();

        Assert.Equal(first, Draw());
        Assert.True(first.Distinct().Count() > 3);
    }

    [Fact]
    public void Top_k_never_draws_a_token_outside_the_k_best()
    {
        var random = new Random(3);
        var logits = Enumerable.Range(0, 50).Select(_ => (float)random.NextDouble()).ToArray();
        var best = Enumerable.Range(0, 50).OrderByDescending(i => logits[i]).Take(5).Order();
        var sampler = Create(new SamplingSettings(Temperature: 5, TopK: 5, Seed: 1), 50);

        var drawn = CountDraws(sampler, logits, 5000).Select((count, token) => (count, token)).Where(d => d.count > 0).Select(d => d.token);

        Assert.Equal(best, drawn);
    }

    [Fact]
    public void Top_k_draws_follow_the_softmax_renormalized_over_the_k_best()
    {
        var logits = LogitsOf(0.05, 0.3, 0.1, 0.25, 0.2, 0.1);
        var sampler = Create(new SamplingSettings(TopK: 3, Seed: 11), 6);

        var counts = CountDraws(sampler, logits, 20_000);

        AssertFollows(Renormalized(Softmax(logits), 1, 3, 4), counts);
    }

    [Fact]
    public void Top_k_above_the_vocabulary_size_keeps_every_token()
    {
        float[] logits = [0f, 0.5f, 1f];
        var sampler = Create(new SamplingSettings(TopK: 10, Seed: 4), 3);

        var counts = CountDraws(sampler, logits, 20_000);

        AssertFollows(Softmax(logits), counts);
    }

    [Theory]
    [InlineData(0.35, new[] { 1 })]
    [InlineData(0.65, new[] { 1, 3 })]
    [InlineData(0.85, new[] { 1, 2, 3 })]
    [InlineData(0.95, new[] { 0, 1, 2, 3 })]
    public void Top_p_keeps_the_smallest_set_whose_probability_reaches_p(double topP, int[] nucleus)
    {
        var logits = LogitsOf(0.1, 0.4, 0.2, 0.3);
        var sampler = Create(new SamplingSettings(TopP: topP, Seed: 2), 4);

        var counts = CountDraws(sampler, logits, 20_000);

        AssertFollows(Renormalized(Softmax(logits), nucleus), counts);
    }

    [Fact]
    public void Top_p_after_top_k_measures_p_against_the_k_best_alone()
    {
        // The 3 best hold 0.75; renormalized they are 0.4, 0.333, 0.267, so p = 0.7 keeps two of them
        // (measured against the whole distribution, 0.3 + 0.25 = 0.55 would fall short and keep all three).
        var logits = LogitsOf(0.3, 0.25, 0.2, 0.1, 0.1, 0.05);
        var sampler = Create(new SamplingSettings(TopK: 3, TopP: 0.7, Seed: 6), 6);

        var counts = CountDraws(sampler, logits, 20_000);

        AssertFollows(Renormalized(Softmax(logits), 0, 1), counts);
    }

    [Fact]
    public void Top_p_below_every_probability_of_a_near_flat_distribution_keeps_only_the_most_likely_token()
    {
        // Every token has about 1/200 = 0.005 of the mass; p = 0.004 is reached by the largest alone.
        var sampler = Create(new SamplingSettings(TopP: 0.004, Seed: 8), 200);
        var logits = new float[200];
        logits[123] = 1e-3f;

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(123, sampler.Next(logits)));
    }

    [Fact]
    public void Repetition_penalty_divides_a_positive_logit_of_a_token_in_the_context()
    {
        // 1.0 / 1.2 = 0.83 falls below 0.9.
        var sampler = Create(new SamplingSettings(Temperature: 0, RepetitionPenalty: 1.2), 2);
        float[] logits = [1.0f, 0.9f];
        Assert.Equal(0, sampler.Next(logits));

        sampler.Append(0);

        Assert.Equal(1, sampler.Next(logits));
    }

    [Fact]
    public void Repetition_penalty_multiplies_a_negative_logit_so_the_token_still_loses_probability()
    {
        // −1.0 · 1.2 = −1.2 falls below −1.1; dividing instead would raise it to −0.83.
        var sampler = Create(new SamplingSettings(Temperature: 0, RepetitionPenalty: 1.2), 2);
        float[] logits = [-1.0f, -1.1f];

        sampler.Append(0);

        Assert.Equal(1, sampler.Next(logits));
    }

    [Theory]
    [InlineData(1f, 0.377541)]
    [InlineData(-1f, 0.268941)]
    public void Repetition_penalty_lowers_the_probability_of_a_repeated_token(float logit, double expected)
    {
        // Both logits equal, the first penalized by 2: p = e^(l/2) / (e^(l/2) + e^l) for l = 1, e^(2l) / (e^(2l) + e^l) for l = −1.
        var sampler = Create(new SamplingSettings(RepetitionPenalty: 2, Seed: 3), 2);
        sampler.Append(0);

        var counts = CountDraws(sampler, [logit, logit], 20_000);

        AssertFollows([expected, 1 - expected], counts);
    }

    [Fact]
    public void Repetition_penalty_applies_once_per_distinct_token_however_often_it_repeats()
    {
        // Once: 1.0 / 1.2 = 0.83 stays above 0.8; three times it would be 0.58.
        var sampler = Create(new SamplingSettings(Temperature: 0, RepetitionPenalty: 1.2), 2);

        sampler.Append(0);
        sampler.Append(0);
        sampler.Append(0);

        Assert.Equal(0, sampler.Next([1.0f, 0.8f]));
    }

    [Fact]
    public void Repetition_penalty_forgets_tokens_that_left_the_context_window()
    {
        var sampler = Create(new SamplingSettings(Temperature: 0, RepetitionPenalty: 1.2), 4, contextLength: 2);
        float[] logits = [1.0f, 0.9f, 0f, 0f];

        sampler.Append(0);
        sampler.Append(2);
        Assert.Equal(1, sampler.Next(logits));

        sampler.Append(3);
        Assert.Equal(0, sampler.Next(logits));
    }

    [Fact]
    public void Forgetting_the_context_lifts_the_penalty()
    {
        var sampler = Create(new SamplingSettings(Temperature: 0, RepetitionPenalty: 1.2), 2);
        sampler.Append(0);

        sampler.ForgetContext();

        Assert.Equal(0, sampler.Next([1.0f, 0.9f]));
    }

    [Fact]
    public void New_settings_apply_from_the_next_draw()
    {
        float[] logits = [0f, 0.1f, 0f];
        var sampler = Create(new SamplingSettings(Temperature: 1, Seed: 1), 3);

        sampler.Settings = sampler.Settings with { Temperature = 0 };

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(1, sampler.Next(logits)));
    }

    [Fact]
    public void Changing_other_settings_keeps_the_random_stream()
    {
        float[] logits = [0f, 0.3f, 0.1f, 0.2f];
        var settings = new SamplingSettings(Seed: 5);
        var reference = Create(settings, 4);
        var expected = Enumerable.Range(0, 40).Select(_ => reference.Next(logits)).ToArray();
        var sampler = Create(settings, 4);

        var first = Enumerable.Range(0, 20).Select(_ => sampler.Next(logits)).ToArray();
        sampler.Settings = settings with { MaxNewTokens = 5, TopK = 4 };
        var rest = Enumerable.Range(0, 20).Select(_ => sampler.Next(logits)).ToArray();

        Assert.Equal(expected, first.Concat(rest));
    }

    [Fact]
    public void A_new_seed_restarts_the_random_stream_from_it()
    {
        float[] logits = [0f, 0.3f, 0.1f, 0.2f];
        var fresh = Create(new SamplingSettings(Seed: 7), 4);
        var expected = Enumerable.Range(0, 30).Select(_ => fresh.Next(logits)).ToArray();
        var sampler = Create(new SamplingSettings(Seed: 1), 4);
        CountDraws(sampler, logits, 10);

        sampler.Settings = sampler.Settings with { Seed = 7 };

        Assert.Equal(expected, Enumerable.Range(0, 30).Select(_ => sampler.Next(logits)));
    }

    [Theory]
    [InlineData(-0.5, 0, 1.0, 1.0)]
    [InlineData(double.NaN, 0, 1.0, 1.0)]
    [InlineData(1.0, -1, 1.0, 1.0)]
    [InlineData(1.0, 0, 0.0, 1.0)]
    [InlineData(1.0, 0, 1.5, 1.0)]
    [InlineData(1.0, 0, 1.0, 0.5)]
    public void Settings_out_of_range_are_refused(double temperature, int topK, double topP, double repetitionPenalty)
    {
        var settings = new SamplingSettings(Temperature: temperature, TopK: topK, TopP: topP, RepetitionPenalty: repetitionPenalty);

        Assert.Throws<ArgumentOutOfRangeException>(() => Create(settings, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(new SamplingSettings(), 4).Settings = settings);
    }

    [Fact]
    public void Logits_of_the_wrong_length_and_tokens_outside_the_vocabulary_are_refused()
    {
        var sampler = Create(new SamplingSettings(), 4);

        Assert.Throws<ArgumentException>(() => sampler.Next([0f, 1f, 2f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Append(4));
    }

    [Theory]
    [InlineData(0, 1.0, 1.0)]
    [InlineData(40, 1.0, 1.0)]
    [InlineData(0, 0.9, 1.0)]
    [InlineData(40, 0.9, 1.3)]
    public void Sampling_a_token_allocates_nothing(int topK, double topP, double repetitionPenalty)
    {
        var random = new Random(1);
        var logits = Enumerable.Range(0, 512).Select(_ => (float)random.NextDouble() * 4).ToArray();
        var sampler = Create(new SamplingSettings(TopK: topK, TopP: topP, RepetitionPenalty: repetitionPenalty), 512, contextLength: 16);

        var allocated = KernelTestData.AllocatedBytes(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                sampler.Append(sampler.Next(logits));
            }
        });

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void ArgMax_picks_the_lowest_index_among_ties()
    {
        Assert.Equal(1, Sampler.ArgMax([0f, 2f, 2f, 1f]));
    }
}
