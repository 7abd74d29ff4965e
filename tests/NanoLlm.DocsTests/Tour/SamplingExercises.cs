using NanoLlm.Config;
using NanoLlm.Sampling;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/07-sampling.md.</summary>
public sealed class SamplingExercises
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(5.0)]
    public void Top_k_of_one_is_greedy_at_any_temperature(double temperature)
    {
        float[] logits = [0.5f, 2f, 1.9f, -1f];
        var sampler = new Sampler(new SamplingSettings(Temperature: temperature, TopK: 1), vocabSize: 4, contextLength: 8);

        var draws = Enumerable.Range(0, 1000).Select(_ => sampler.Next(logits)).ToHashSet();

        Assert.Equal([1], draws);
    }

    [Fact]
    public void Top_p_keeps_only_the_token_that_reaches_p_alone()
    {
        float[] logits = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var sampler = new Sampler(new SamplingSettings(TopP: 0.5), vocabSize: 3, contextLength: 8);

        var draws = Enumerable.Range(0, 1000).Select(_ => sampler.Next(logits)).ToHashSet();

        Assert.Equal([0], draws);
    }
}
