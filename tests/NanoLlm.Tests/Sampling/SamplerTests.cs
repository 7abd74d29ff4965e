using NanoLlm.Config;
using NanoLlm.Sampling;

namespace NanoLlm.Tests.Sampling;

public sealed class SamplerTests
{
    [Fact]
    public void Temperature_zero_is_greedy()
    {
        var sampler = new Sampler(new SamplingSettings(10, Temperature: 0, Seed: 1), 4);

        Assert.Equal(2, sampler.Next([0.1f, 0.5f, 3f, 2.9f]));
    }

    [Fact]
    public void The_same_seed_gives_the_same_draws()
    {
        float[] logits = [0.3f, 0.1f, 0.2f, 0.25f];
        var first = new Sampler(new SamplingSettings(10, 1.0, Seed: 42), 4);
        var second = new Sampler(new SamplingSettings(10, 1.0, Seed: 42), 4);

        var a = Enumerable.Range(0, 50).Select(_ => first.Next(logits)).ToArray();
        var b = Enumerable.Range(0, 50).Select(_ => second.Next(logits)).ToArray();

        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 1);
    }

    [Fact]
    public void Draws_at_temperature_one_follow_the_softmax_distribution()
    {
        float[] logits = [0f, MathF.Log(2), MathF.Log(3), MathF.Log(4)];
        var sampler = new Sampler(new SamplingSettings(10, 1.0, Seed: 9), 4);
        var counts = new int[4];
        const int draws = 40_000;

        for (var i = 0; i < draws; i++)
        {
            counts[sampler.Next(logits)]++;
        }

        // softmax = (1, 2, 3, 4) / 10; with 40,000 draws the standard error of each share is under 0.25 %.
        for (var token = 0; token < 4; token++)
        {
            Assert.Equal((token + 1) / 10.0, counts[token] / (double)draws, 0.01);
        }
    }
}
