using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tests.Support;
using NanoLlm.Training;

namespace NanoLlm.Tests.Model;

public sealed class MlpModelTests
{
    private static MlpModel Create(int vocabSize, int contextLength, int embeddingSize, int hiddenSize, int hiddenLayers, int seed = 3)
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new(contextLength, "test"),
            ["embedding_size"] = new(embeddingSize, "test"),
            ["hidden_size"] = new(hiddenSize, "test"),
            ["hidden_layers"] = new(hiddenLayers, "test"),
        }.ToDictionary(p => p.Key, p => p.Value with { Value = Convert.ToInt64(p.Value.Value) }));
        var model = new MlpModel(vocabSize, settings);
        var random = new Random(seed);
        model.Initialize(random);
        // Larger output weights than the initialisation uses, so the gradient check sees non-trivial logits.
        Initialization.Normal(model.Parameters["output.weight"].Values, 0.3, random);
        return model;
    }

    private static int[] RandomTokens(int count, int vocabSize, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(vocabSize))];
    }

    [Fact]
    public void Backward_matches_finite_differences_through_two_hidden_layers()
    {
        var model = Create(vocabSize: 9, contextLength: 3, embeddingSize: 4, hiddenSize: 6, hiddenLayers: 2);

        GradientCheck.AssertMatches(model, RandomTokens(10, 9, 1), RandomTokens(10, 9, 2), batchSize: 2, length: 5, samples: 120);
    }

    [Fact]
    public void Initial_loss_is_close_to_ln_V()
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>());
        var model = new MlpModel(256, settings);
        model.Initialize(new Random(1));

        var loss = model.Forward(RandomTokens(64, 256, 1), RandomTokens(64, 256, 2), 8, 8);

        Assert.Equal(Math.Log(256), loss, 0.02);
    }

    [Fact]
    public void Inference_gives_the_logits_of_the_last_position_of_a_forward_pass()
    {
        const int vocabSize = 7;
        var model = Create(vocabSize, contextLength: 3, embeddingSize: 4, hiddenSize: 16, hiddenLayers: 1);
        int[] tokens = [1, 4, 2, 6, 0];
        var inference = model.StartInference();
        var logits = Array.Empty<float>();
        foreach (var token in tokens)
        {
            logits = inference.Feed(token).ToArray();
        }

        // The forward pass's mean loss changes with the last target v only through −logit_v / rows, so its logits
        // (up to a constant) are rows · (loss(0) − loss(v)). A window at the text's start sees padding, as inference does.
        var targets = new int[tokens.Length];
        var lossAtZero = model.Forward(tokens, targets, 1, tokens.Length);
        for (var v = 1; v < vocabSize; v++)
        {
            targets[^1] = v;
            var forwardDifference = tokens.Length * (lossAtZero - model.Forward(tokens, targets, 1, tokens.Length));
            Assert.Equal(logits[v] - logits[0], forwardDifference, 1e-4);
        }
        Assert.NotEqual(logits[1], logits[0]);
    }

    [Fact]
    public void A_context_change_older_than_the_window_does_not_change_the_prediction()
    {
        var model = Create(vocabSize: 7, contextLength: 2, embeddingSize: 3, hiddenSize: 4, hiddenLayers: 1);

        float[] Predict(int[] tokens)
        {
            var inference = model.StartInference();
            var logits = Array.Empty<float>();
            foreach (var token in tokens)
            {
                logits = inference.Feed(token).ToArray();
            }
            return logits;
        }

        Assert.Equal(Predict([1, 2, 3, 4]), Predict([5, 6, 3, 4]));
        Assert.NotEqual(Predict([1, 2, 3, 4]), Predict([1, 2, 5, 4]));
    }

    [Fact]
    public void A_training_step_allocates_nothing_once_warmed_up()
    {
        var model = Create(vocabSize: 11, contextLength: 4, embeddingSize: 8, hiddenSize: 32, hiddenLayers: 2);
        var inputs = RandomTokens(64, 11, 1);
        var targets = RandomTokens(64, 11, 2);
        var optimizer = new Sgd();
        void Step()
        {
            model.Forward(inputs, targets, 4, 16);
            model.Parameters.ZeroGrads();
            model.Backward();
            optimizer.Update(model.Parameters, 0.1f);
        }
        Step();

        var before = GC.GetAllocatedBytesForCurrentThread();
        Step();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
