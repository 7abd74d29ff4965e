using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;
using NanoLlm.Tests.Support;
using NanoLlm.Training;

namespace NanoLlm.Tests.Model;

public sealed class GptModelTests
{
    private static GptModel Create(
        int vocabSize = 11, int contextLength = 6, int embeddingSize = 8, int layers = 2, int heads = 2,
        string positional = GptModel.Sinusoidal, bool tied = true, int seed = 3, double dropout = 0)
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["dropout"] = new(dropout, "test"),
            ["context_length"] = new((long)contextLength, "test"),
            ["embedding_size"] = new((long)embeddingSize, "test"),
            ["layers"] = new((long)layers, "test"),
            ["heads"] = new((long)heads, "test"),
            ["positional"] = new(positional, "test"),
            ["tie_embeddings"] = new(tied, "test"),
        });
        var model = new GptModel(vocabSize, settings);
        var random = new Random(seed);
        model.Initialize(random);
        // Larger weights than the initialisation's 0.02, so attention is far from uniform and every path carries signal.
        Initialization.Normal(model.Parameters.Values, 0.3, random);
        foreach (var parameter in model.Parameters.Parameters.Where(p => p.Name.Contains(".ln_", StringComparison.Ordinal) || p.Name.StartsWith("ln_f", StringComparison.Ordinal)))
        {
            if (parameter.Name.EndsWith(".weight", StringComparison.Ordinal))
            {
                parameter.Values.Fill(1.2f);
            }
        }
        return model;
    }

    private static int[] RandomTokens(int count, int vocabSize, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(vocabSize))];
    }

    [Theory]
    [InlineData(GptModel.Sinusoidal, true)]
    [InlineData(GptModel.Learned, false)]
    public void Backward_matches_finite_differences_for_the_whole_model(string positional, bool tied)
    {
        var model = Create(positional: positional, tied: tied);

        GradientCheck.AssertMatches(model, RandomTokens(12, 11, 1), RandomTokens(12, 11, 2), batchSize: 2, length: 6, samples: 150);
    }

    [Fact]
    public void Initial_loss_is_close_to_ln_V()
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>());
        var model = new GptModel(256, settings);
        model.Initialize(new Random(1));

        var loss = model.Forward(RandomTokens(128, 256, 1), RandomTokens(128, 256, 2), 2, 64);

        Assert.Equal(Math.Log(256), loss, 0.05);
    }

    [Fact]
    public void Changing_a_future_token_never_changes_an_earlier_positions_logits()
    {
        const int vocabSize = 11;
        var model = Create(vocabSize);
        int[] tokens = [1, 5, 2, 8, 3, 9];
        var targets = new int[tokens.Length];
        model.Forward(tokens, targets, 1, tokens.Length);
        var before = model.Logits.ToArray();

        tokens[3] = 4;
        model.Forward(tokens, targets, 1, tokens.Length);
        var after = model.Logits.ToArray();

        Assert.Equal(before[..(3 * vocabSize)], after[..(3 * vocabSize)]);
        Assert.NotEqual(before[(3 * vocabSize)..(4 * vocabSize)], after[(3 * vocabSize)..(4 * vocabSize)]);
    }

    [Theory]
    [InlineData(GptModel.Sinusoidal, true)]
    [InlineData(GptModel.Learned, false)]
    public void Cached_generation_gives_the_logits_of_a_full_forward_pass_position_by_position(string positional, bool tied)
    {
        const int vocabSize = 11, contextLength = 6;
        var model = Create(vocabSize, contextLength, positional: positional, tied: tied);
        int[] tokens = [1, 5, 2, 8, 3, 9];
        model.Forward(tokens, new int[tokens.Length], 1, tokens.Length);
        var full = model.Logits.ToArray();

        var inference = model.StartInference();
        for (var t = 0; t < tokens.Length; t++)
        {
            var cached = inference.Feed(tokens[t]).ToArray();
            AssertClose(full.AsSpan(t * vocabSize, vocabSize), cached, $"position {t}");
        }
    }

    [Fact]
    public void Past_the_context_the_cache_restarts_from_the_last_half_window()
    {
        const int vocabSize = 11, contextLength = 6;
        var model = Create(vocabSize, contextLength);
        int[] tokens = [1, 5, 2, 8, 3, 9, 4, 7];
        var inference = model.StartInference();
        var cached = Array.Empty<float>();
        foreach (var token in tokens)
        {
            cached = inference.Feed(token).ToArray();
        }

        // After 6 tokens the window is full; the 7th keeps the last 3 and adds itself, the 8th adds itself: [8, 3, 9, 4, 7].
        int[] window = [8, 3, 9, 4, 7];
        model.Forward(window, new int[window.Length], 1, window.Length);
        AssertClose(model.Logits[^vocabSize..], cached, "last position");
    }

    // Three sequences fed in steps of mixed rows: a prompt of several rows, single tokens, and past the context.
    private static readonly (int Slot, int[] Tokens)[][] Steps =
    [
        [(0, [1, 5, 2])],
        [(0, [8]), (1, [4, 4, 7, 1])],
        [(1, [3]), (0, [3]), (2, [9])],
        [(2, [1, 2, 3, 4, 5, 6, 7]), (0, [9]), (1, [2])],
        [(0, [4]), (1, [6]), (2, [0])],
        [(1, [5, 1, 2, 3]), (0, [7])],
    ];

    private static List<(int Slot, float[] Logits)> RunBatched(IBatchedInference inference, IEnumerable<(int Slot, int[] Tokens)[]> steps, int vocabSize)
    {
        var results = new List<(int, float[])>();
        foreach (var step in steps)
        {
            var rows = step.SelectMany(s => s.Tokens.Select((token, i) => new BatchRow(s.Slot, token, i == s.Tokens.Length - 1))).ToArray();
            var logits = new float[step.Length * vocabSize];
            inference.Forward(rows, logits);
            results.AddRange(step.Select((s, k) => (s.Slot, logits.AsSpan(k * vocabSize, vocabSize).ToArray())));
        }
        return results;
    }

    [Fact]
    public void Batched_inference_gives_each_sequence_the_logits_of_its_own_cached_generation()
    {
        const int vocabSize = 11, contextLength = 6;
        var model = Create(vocabSize, contextLength, embeddingSize: 16);
        var alone = Enumerable.Range(0, 3).Select(_ => model.StartInference()).ToArray();

        var batched = RunBatched(model.StartBatchedInference(3), Steps, vocabSize);

        var expected = Steps.SelectMany(step => step.Select(s =>
        {
            var logits = Array.Empty<float>();
            foreach (var token in s.Tokens)
            {
                logits = alone[s.Slot].Feed(token).ToArray();
            }
            return logits;
        })).ToArray();
        Assert.Equal(expected.Length, batched.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            AssertClose(expected[i], batched[i].Logits, $"result {i} (slot {batched[i].Slot})");
        }
    }

    [Fact]
    public void A_sequence_gets_bit_identical_logits_whoever_shares_the_batch()
    {
        const int vocabSize = 11, contextLength = 6;
        var model = Create(vocabSize, contextLength, embeddingSize: 16);
        var shared = RunBatched(model.StartBatchedInference(3), Steps, vocabSize);

        foreach (var slot in new[] { 0, 1, 2 })
        {
            var steps = Steps.Select(step => step.Where(s => s.Slot == slot).Select(s => (0, s.Tokens)).ToArray()).Where(step => step.Length > 0);
            var alone = RunBatched(model.StartBatchedInference(1), steps, vocabSize);

            Assert.Equal(alone.Select(r => r.Logits), shared.Where(r => r.Slot == slot).Select(r => r.Logits));
        }
    }

    [Fact]
    public void A_reset_slot_starts_a_new_sequence()
    {
        const int vocabSize = 11;
        var model = Create(vocabSize, embeddingSize: 16);
        var inference = model.StartBatchedInference(1);
        var first = new float[vocabSize];
        var second = new float[vocabSize];

        inference.Forward([new(0, 3, false), new(0, 7, true)], first);
        inference.Forward([new(0, 1, true)], second);
        inference.Reset(0);
        inference.Forward([new(0, 3, false), new(0, 7, true)], second);

        Assert.Equal(first, second);
    }

    [Fact]
    public void A_training_step_allocates_nothing_once_warmed_up()
    {
        var model = Create(contextLength: 8, embeddingSize: 16, heads: 4);
        var inputs = RandomTokens(32, 11, 1);
        var targets = RandomTokens(32, 11, 2);
        var optimizer = new Sgd();
        void Step()
        {
            model.Forward(inputs, targets, 4, 8);
            model.Parameters.ZeroGrads();
            model.Backward();
            optimizer.Update(model.Parameters, 0.01f);
        }
        Step();

        var before = GC.GetAllocatedBytesForCurrentThread();
        Step();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void One_and_two_threads_give_identical_losses_and_gradients()
    {
        (float Loss, float[] Grads) Run(int threads)
        {
            using var _ = KernelSettings.Override(KernelSettings.HardwareVectorWidth, threads);
            var model = Create(vocabSize: 65, contextLength: 32, embeddingSize: 64, layers: 2, heads: 4);
            var loss = model.Forward(RandomTokens(8 * 32, 65, 1), RandomTokens(8 * 32, 65, 2), 8, 32);
            model.Backward();
            return (loss, model.Parameters.Grads);
        }

        var one = Run(1);
        var two = Run(2);

        Assert.Equal(one.Loss, two.Loss);
        Assert.Equal(one.Grads, two.Grads);
    }

    [Fact]
    public void Heads_that_do_not_divide_the_embedding_size_are_a_config_error()
    {
        var settings = new SettingsSection("model", "run.toml:1", new Dictionary<string, SettingValue>
        {
            ["embedding_size"] = new(10L, "run.toml:3"),
            ["heads"] = new(4L, "run.toml:4"),
        });

        var message = Assert.Throws<ConfigException>(() => new GptModel(256, settings)).Message;

        Assert.StartsWith("run.toml:4: [model] heads: 4 does not divide embedding_size 10", message);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string where)
    {
        // The cached path sums the same terms in a different order (one row at a time), so allow float rounding.
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i])), $"{where}, logit {i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Fact]
    public void Backward_matches_finite_differences_with_dropout_in_training()
    {
        // The masks depend on the batch, not on the parameters, so they stay fixed while the differences are taken.
        var model = Create(dropout: 0.3);
        model.Training = true;

        GradientCheck.AssertMatches(model, RandomTokens(12, 11, 1), RandomTokens(12, 11, 2), batchSize: 2, length: 6, samples: 150);
    }

    [Fact]
    public void Dropout_changes_training_passes_only()
    {
        var withDropout = Create(dropout: 0.3);
        var without = Create(dropout: 0);
        var (inputs, targets) = (RandomTokens(12, 11, 1), RandomTokens(12, 11, 2));

        var evaluation = withDropout.Forward(inputs, targets, 2, 6);
        withDropout.Training = true;
        var training = withDropout.Forward(inputs, targets, 2, 6);

        Assert.Equal(without.Forward(inputs, targets, 2, 6), evaluation);
        Assert.NotEqual(evaluation, training);
    }
}
