using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Model;

public sealed class BigramModelTests
{
    private static BigramModel Create(int vocabSize, int seed = 1)
    {
        var model = new BigramModel(vocabSize, new SettingsSection("model", "test", new Dictionary<string, SettingValue>()));
        var random = new Random(seed);
        model.Initialize(random);
        foreach (ref var value in model.Parameters.Values.AsSpan())
        {
            value = (float)(random.NextDouble() - 0.5);
        }
        return model;
    }

    [Fact]
    public void Initial_loss_is_ln_V_because_the_table_starts_at_zero()
    {
        var model = new BigramModel(256, new SettingsSection("model", "test", new Dictionary<string, SettingValue>()));
        model.Initialize(new Random(1));

        var loss = model.Forward([1, 2, 3, 4], [2, 3, 4, 5], 2, 2);

        Assert.Equal(Math.Log(256), loss, 5);
    }

    [Fact]
    public void Backward_matches_finite_differences()
    {
        var model = Create(vocabSize: 11);
        int[] inputs = [1, 5, 5, 10, 0, 3];
        int[] targets = [5, 5, 10, 0, 3, 1];

        GradientCheck.AssertMatches(model, inputs, targets, batchSize: 2, length: 3);
    }

    [Fact]
    public void Gradients_accumulate_across_backward_calls()
    {
        var model = Create(vocabSize: 7);
        model.Forward([1, 2], [2, 3], 1, 2);
        model.Backward();
        var once = (float[])model.Parameters.Grads.Clone();

        model.Backward();

        Assert.Equal(once.Select(g => 2 * g), model.Parameters.Grads, new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Inference_returns_the_table_row_of_the_token_fed()
    {
        var model = Create(vocabSize: 5);

        var logits = model.StartInference().Feed(3).ToArray();

        Assert.Equal(model.Parameters["token_logits"].Values.Slice(15, 5).ToArray(), logits);
    }

    [Fact]
    public void A_token_outside_the_vocabulary_is_refused()
    {
        var model = Create(vocabSize: 5);

        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([7], [1], 1, 1));
    }
}
