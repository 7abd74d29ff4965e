using NanoLlm.DocsTests.Support;
using NanoLlm.Inspection;
using NanoLlm.Model;
using NanoLlm.Tensors;
using NanoLlm.Tokenization;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/14-looking-inside.md.</summary>
public sealed class LookingInsideExercises : IDisposable
{
    private readonly ShippedRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void The_first_row_of_every_map_is_all_on_the_first_token_and_every_row_sums_to_1()
    {
        var maps = Explanation.Of(ShippedGpt(), Tokenizer.ByteLevel, "The keeper", 5).Attention!;

        for (var l = 0; l < maps.Layers; l++)
        {
            for (var h = 0; h < maps.Heads; h++)
            {
                Assert.Equal(1f, maps.Weight(l, h, 0, 0));
                for (var i = 0; i < maps.Length; i++)
                {
                    Assert.Equal(1.0, Enumerable.Range(0, i + 1).Sum(j => (double)maps.Weight(l, h, i, j)), 1e-5);
                    Assert.All(Enumerable.Range(i + 1, maps.Length - i - 1), j => Assert.Equal(0f, maps.Weight(l, h, i, j)));
                }
            }
        }
    }

    [Fact]
    public void A_prompt_longer_than_the_context_shows_attention_over_its_last_32_tokens()
    {
        var prompt = "The keeper climbed the stairs of the old lighthouse";

        var explanation = Explanation.Of(ShippedGpt(), Tokenizer.ByteLevel, prompt, 5);

        Assert.Equal(51, explanation.Tokens.Count);
        Assert.Equal(51, explanation.Next.Count);
        Assert.Equal((19, 32), (explanation.Attention!.FirstPosition, explanation.Attention.Length));
    }

    [Fact]
    public void Below_minus_3_gelu_passes_almost_no_gradient()
    {
        float[] x = [-3f, -4f, 0f];
        var dx = new float[3];

        Gelu.Backward(dx, x, [1f, 1f, 1f]);

        Assert.InRange(Math.Abs(dx[0]), 0.0, 0.012);
        Assert.InRange(Math.Abs(dx[1]), 0.0, 0.001);
        Assert.Equal(0.5, dx[2], 1e-6);
        Assert.Equal(-3f, ActivationMeasures.GeluSaturatedBelow);
    }

    private ILanguageModel ShippedGpt()
    {
        var config = _run.Load("configs/gpt.toml");
        var model = ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(1337));
        return model;
    }
}
