using NanoLlm.Config;
using NanoLlm.Interop;
using NanoLlm.Model;
using NanoLlm.Tensors;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Tests.Model;

/// <summary>The GPT's architecture options: rotary positions, RMSNorm, SwiGLU and ReLU², QK-norm, attention dropout.</summary>
public sealed class GptModelOptionsTests
{
    // Each option alone, and all of them together.
    public static TheoryData<string> Options() =>
    [
        "positional=rope",
        "norm=rmsnorm",
        "activation=swiglu",
        "activation=relu2",
        "qk_norm=true",
        "positional=rope qk_norm=true norm=rmsnorm activation=swiglu",
        "positional=learned qk_norm=true activation=relu2",
    ];

    private static SettingsSection Settings(string options, int contextLength = 6, int embeddingSize = 8, int heads = 2, int layers = 2)
    {
        var values = new Dictionary<string, SettingValue>
        {
            ["context_length"] = new((long)contextLength, "test"),
            ["embedding_size"] = new((long)embeddingSize, "test"),
            ["layers"] = new((long)layers, "test"),
            ["heads"] = new((long)heads, "test"),
            ["tie_embeddings"] = new(true, "test"),
        };
        foreach (var option in options.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = (option.Split('=')[0], option.Split('=')[1]);
            values[key] = new(
                value switch
                {
                    "true" => true,
                    "false" => false,
                    _ when double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var number) => number,
                    _ => value,
                },
                $"run.toml:{values.Count + 1}");
        }
        return new SettingsSection("model", "run.toml:1", values);
    }

    private static GptModel Create(string options, int vocabSize = 11, int contextLength = 6, int embeddingSize = 8, int heads = 2, int layers = 2, int seed = 3)
    {
        var model = new GptModel(vocabSize, Settings(options, contextLength, embeddingSize, heads, layers));
        var random = new Random(seed);
        model.Initialize(random);
        // Larger weights than the initialisation's, so attention is far from uniform and every path carries signal.
        Initialization.Normal(model.Parameters.Values, 0.3, random);
        foreach (var parameter in model.Parameters.Parameters.Where(p => p.Name.Contains("ln_", StringComparison.Ordinal) && p.Name.EndsWith(".weight", StringComparison.Ordinal)))
        {
            parameter.Values.Fill(1.2f);
        }
        return model;
    }

    private static int[] RandomTokens(int count, int vocabSize, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(vocabSize))];
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Backward_matches_finite_differences(string options)
    {
        var model = Create(options);

        GradientCheck.AssertMatches(model, RandomTokens(12, 11, 1), RandomTokens(12, 11, 2), batchSize: 2, length: 6, samples: 150);
    }

    [Fact]
    public void Backward_matches_finite_differences_with_attention_dropout_in_training()
    {
        // The masks depend on the batch, not on the parameters, so they stay fixed while the differences are taken.
        var model = Create("attention_dropout=0.3 dropout=0.1 positional=rope qk_norm=true");
        model.Training = true;

        GradientCheck.AssertMatches(model, RandomTokens(12, 11, 1), RandomTokens(12, 11, 2), batchSize: 2, length: 6, samples: 150);
    }

    [Fact]
    public void Attention_dropout_changes_training_passes_only()
    {
        var withDropout = Create("attention_dropout=0.3");
        var without = Create("");
        var (inputs, targets) = (RandomTokens(12, 11, 1), RandomTokens(12, 11, 2));

        var evaluation = withDropout.Forward(inputs, targets, 2, 6);
        withDropout.Training = true;
        var training = withDropout.Forward(inputs, targets, 2, 6);

        Assert.Equal(without.Forward(inputs, targets, 2, 6), evaluation);
        Assert.NotEqual(evaluation, training);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Cached_generation_gives_the_logits_of_a_full_forward_pass(string options)
    {
        const int vocabSize = 11;
        var model = Create(options);
        int[] tokens = [1, 5, 2, 8, 3, 9];
        model.Forward(tokens, new int[tokens.Length], 1, tokens.Length);
        var full = model.Logits.ToArray();

        var inference = model.StartInference();
        for (var t = 0; t < tokens.Length; t++)
        {
            AssertClose(full.AsSpan(t * vocabSize, vocabSize), inference.Feed(tokens[t]), $"position {t}");
        }
    }

    [Theory]
    [InlineData("positional=rope")]
    [InlineData("positional=rope qk_norm=true norm=rmsnorm activation=swiglu")]
    public void Past_the_context_the_cache_restarts_with_the_positions_of_the_kept_half(string options)
    {
        const int vocabSize = 11;
        var model = Create(options);
        var inference = model.StartInference();
        ReadOnlySpan<float> cached = default;
        foreach (var token in new[] { 1, 5, 2, 8, 3, 9, 4, 7 })
        {
            cached = inference.Feed(token);
        }

        int[] window = [8, 3, 9, 4, 7];
        model.Forward(window, new int[window.Length], 1, window.Length);
        AssertClose(model.Logits[^vocabSize..], cached, "last position");
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Batched_inference_gives_each_sequence_the_logits_of_its_own_cached_generation(string options)
    {
        const int vocabSize = 11;
        var model = Create(options, embeddingSize: 16);
        (int Slot, int[] Tokens)[][] steps =
        [
            [(0, [1, 5, 2])],
            [(0, [8]), (1, [4, 4, 7, 1])],
            [(1, [3, 2, 6]), (0, [3, 9, 4])],
        ];
        var batched = model.StartBatchedInference(2);
        var alone = new[] { model.StartInference(), model.StartInference() };
        foreach (var step in steps)
        {
            var rows = step.SelectMany(s => s.Tokens.Select((token, i) => new BatchRow(s.Slot, token, i == s.Tokens.Length - 1))).ToArray();
            var logits = new float[step.Length * vocabSize];
            batched.Forward(rows, logits);
            for (var k = 0; k < step.Length; k++)
            {
                ReadOnlySpan<float> expected = default;
                foreach (var token in step[k].Tokens)
                {
                    expected = alone[step[k].Slot].Feed(token);
                }
                AssertClose(expected, logits.AsSpan(k * vocabSize, vocabSize), $"slot {step[k].Slot}");
            }
        }
    }

    [Fact]
    public void One_and_two_threads_give_identical_losses_and_gradients_with_every_option()
    {
        (float Loss, float[] Grads) Run(int threads)
        {
            using var _ = KernelSettings.Override(KernelSettings.HardwareVectorWidth, threads);
            var model = Create(
                "positional=rope qk_norm=true norm=rmsnorm activation=swiglu attention_dropout=0.2 dropout=0.1", vocabSize: 65, contextLength: 32,
                embeddingSize: 64, heads: 4);
            model.Training = true;
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
    public void A_training_step_with_every_option_allocates_nothing_once_warmed_up()
    {
        var model = Create("positional=rope qk_norm=true norm=rmsnorm activation=swiglu attention_dropout=0.2", contextLength: 8, embeddingSize: 16, heads: 4);
        model.Training = true;
        var (inputs, targets) = (RandomTokens(32, 11, 1), RandomTokens(32, 11, 2));
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
    public void Rotary_positions_add_no_position_table_and_rmsnorm_no_shift()
    {
        var names = Create("positional=rope norm=rmsnorm").Parameters.Parameters.Select(p => p.Name).ToList();

        Assert.DoesNotContain("wpe", names);
        Assert.Contains("ln_f.weight", names);
        Assert.DoesNotContain(names, name => name.EndsWith("ln_1.bias", StringComparison.Ordinal) || name == "ln_f.bias");
    }

    [Fact]
    public void Swiglu_keeps_the_feed_forward_parameter_count_with_two_thirds_of_the_width()
    {
        var gelu = Create("", embeddingSize: 48, heads: 4);
        var swiglu = Create("activation=swiglu", embeddingSize: 48, heads: 4);

        // 4·48 = 192 → 2/3 of it is 128: c_fc makes a gate and an up projection of 128 each.
        Assert.Equal([256, 48], swiglu.Parameters["h.0.mlp.c_fc.weight"].Shape);
        Assert.Equal([48, 128], swiglu.Parameters["h.0.mlp.c_proj.weight"].Shape);
        var matrices = (GptModel m) => m.Parameters["h.0.mlp.c_fc.weight"].Length + m.Parameters["h.0.mlp.c_proj.weight"].Length;
        Assert.Equal(matrices(gelu), matrices(swiglu));
    }

    [Fact]
    public void A_rotary_score_depends_on_the_distance_between_positions_only()
    {
        // q·k with q turned by p + Δ and k by p is the same for every p; turning back undoes a turn.
        var rotary = new NanoLlm.Model.Layers.RotaryEmbedding(positions: 16, headSize: 8);
        var random = new Random(4);
        float[] q = [.. Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble() - 0.5f)];
        float[] k = [.. Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble() - 0.5f)];
        float Score(int p, int delta)
        {
            var (qp, kp) = ((float[])q.Clone(), (float[])k.Clone());
            rotary.Rotate(qp, p + delta);
            rotary.Rotate(kp, p);
            return ElementWise.Dot(qp, kp);
        }

        Assert.All(Enumerable.Range(0, 12), p => Assert.Equal(Score(0, 3), Score(p, 3), 1e-5f));
        Assert.NotEqual(Score(0, 3), Score(0, 4), 1e-3f);
        var back = (float[])q.Clone();
        rotary.Rotate(back, 7);
        rotary.RotateBack(back, 7);
        Assert.Equal(q, back, new ToleranceComparer(1e-6f));
    }

    [Theory]
    [InlineData("norm=batchnorm", "run.toml:6: [model] norm: \"batchnorm\" is not one of \"layernorm\", \"rmsnorm\"")]
    [InlineData("activation=tanh", "run.toml:6: [model] activation: \"tanh\" is not one of \"gelu\", \"swiglu\", \"relu2\"")]
    [InlineData("positional=alibi", "run.toml:6: [model] positional: \"alibi\" is not one of \"sinusoidal\", \"learned\", \"rope\"")]
    [InlineData("qk_norm=yes", "run.toml:6: [model] qk_norm")]
    [InlineData("attention_dropout=1", "run.toml:6: [model] attention_dropout: 1 is out of range")]
    [InlineData("attention_dropout=on", "run.toml:6: [model] attention_dropout")]
    [InlineData("rope_base=500", "run.toml:6: [model] rope_base: only rotary positions have a base, and positional is \"sinusoidal\"")]
    [InlineData("positional=learned rope_base=500", "run.toml:7: [model] rope_base: only rotary positions have a base, and positional is \"learned\"")]
    [InlineData("positional=rope rope_base=1", "run.toml:7: [model] rope_base: 1 is out of range")]
    public void A_wrong_option_is_a_config_error_naming_file_line_and_key(string options, string expected)
    {
        var message = Assert.Throws<ConfigException>(() => new GptModel(11, Settings(options))).Message;

        Assert.StartsWith(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Rotary_positions_need_an_even_head_size()
    {
        var message = Assert.Throws<ConfigException>(() => new GptModel(11, Settings("positional=rope", embeddingSize: 6, heads: 2))).Message;

        Assert.StartsWith("test: [model] heads: rotary positions turn pairs of a head's values, and embedding_size / heads = 3 is odd", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("norm=rmsnorm", "norm = \"rmsnorm\"")]
    [InlineData("activation=swiglu", "activation = \"swiglu\"")]
    [InlineData("qk_norm=true", "qk_norm = true")]
    [InlineData("positional=rope", "positional = \"learned\"")]
    public void A_model_with_an_option_gpt2_lacks_has_no_gpt2_form(string options, string named)
    {
        var model = new GptModel(30, Settings(options.Contains("positional", StringComparison.Ordinal) ? options : $"positional=learned {options}"));

        var message = Assert.Throws<ConfigException>(() => Gpt2Shape.Of(model, "run.toml")).Message;

        Assert.StartsWith("run.toml: ", message, StringComparison.Ordinal);
        Assert.Contains(named, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attention_dropout_still_exports_to_gpt2_it_is_a_training_setting()
    {
        var model = new GptModel(30, Settings("positional=learned attention_dropout=0.1 dropout=0.1"));

        Assert.Equal(2, Gpt2Shape.Of(model, "run.toml").Layers);
    }

    [Theory]
    [InlineData("", 4)]
    [InlineData("activation=swiglu", 2)]
    [InlineData("activation=relu2 positional=rope", 2)]
    public void Activation_measures_cover_the_gelu_and_every_attention(string options, int sites)
    {
        var model = Create(options);
        model.Forward(RandomTokens(12, 11, 1), RandomTokens(12, 11, 2), 2, 6);

        var statistics = model.MeasureActivations();

        Assert.Equal(sites, statistics.Count);
        Assert.Equal(2, statistics.Count(s => s.Site.EndsWith(".attn", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_weights_file_records_the_options_and_loads_as_the_same_model()
    {
        using var folder = new TempFolder();
        var model = Create("positional=rope rope_base=500 qk_norm=true norm=rmsnorm activation=swiglu attention_dropout=0.1", vocabSize: 256);
        new Cortex(model, Tokenizer.ByteLevel).Save(folder.File("options.weights"));

        var loaded = Cortex.Load(folder.File("options.weights"));

        var resolved = loaded.Model.Spec.Hyperparameters.Resolved;
        Assert.Equal(("rope", 500.0, true, "rmsnorm", "swiglu", 0.1), ((string)resolved["positional"], Convert.ToDouble(resolved["rope_base"], System.Globalization.CultureInfo.InvariantCulture), (bool)resolved["qk_norm"], (string)resolved["norm"], (string)resolved["activation"], Convert.ToDouble(resolved["attention_dropout"], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
        int[] tokens = [1, 5, 2, 8];
        var (own, read) = (model.StartInference(), loaded.Model.StartInference());
        foreach (var token in tokens)
        {
            Assert.Equal(own.Feed(token).ToArray(), read.Feed(token).ToArray());
        }
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string where)
    {
        // The cached path sums the same terms in a different order (one row at a time), so allow float rounding.
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i])), $"{where}, logit {i}: {expected[i]} vs {actual[i]}");
        }
    }
}
