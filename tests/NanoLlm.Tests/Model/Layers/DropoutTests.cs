using NanoLlm.Model;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;

namespace NanoLlm.Tests.Model.Layers;

public sealed class DropoutTests
{
    // Several chunks of the kernel and a ragged end, so every vector path, the scalar tail and the thread split run.
    private const int Length = (3 * 4096) + 37;

    public static TheoryData<int, int> WidthsAndThreads()
    {
        var data = new TheoryData<int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 }.Where(w => w <= KernelSettings.HardwareVectorWidth))
        {
            data.Add(width, 1);
            data.Add(width, 2);
        }
        return data;
    }

    private static float[] RandomArray(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1))];
    }

    [Theory]
    [MemberData(nameof(WidthsAndThreads))]
    public void The_mask_is_the_one_stream_drawn_in_order_at_every_vector_width_and_thread_count(int width, int threads)
    {
        const float rate = 0.3f;
        var x = RandomArray(Length, seed: 1);
        var dy = RandomArray(Length, seed: 2);
        // The definition: draw i of SplitMix64(seed, stream) keeps value i when it is at least the rate.
        var random = new SplitMix64(7, 11);
        var mask = Enumerable.Range(0, Length).Select(_ => random.NextFloat() >= rate ? 1f / (1f - rate) : 0f).ToArray();
        var (expectedY, expectedDx) = (x.Select((v, i) => v * mask[i]).ToArray(), dy.Select((v, i) => v * mask[i]).ToArray());
        var dropout = new Dropout(rate);

        using (KernelSettings.Override(width, threads))
        {
            dropout.Forward(x, training: true, seed: 7, stream: 11);
            dropout.Backward(dy);
        }

        Assert.Equal(expectedY, x);
        Assert.Equal(expectedDx, dy);
        var dropped = mask.Count(m => m == 0) / (double)Length;
        Assert.InRange(dropped, 0.28, 0.32);
    }

    [Fact]
    public void Outside_training_it_is_the_identity_forward_and_backward()
    {
        var x = RandomArray(100, seed: 3);
        var copy = x.ToArray();
        var dropout = new Dropout(0.5f);

        dropout.Forward(x, training: false, seed: 1, stream: 1);
        dropout.Backward(x);

        Assert.Equal(copy, x);
        Assert.False(dropout.Active);
    }
}
