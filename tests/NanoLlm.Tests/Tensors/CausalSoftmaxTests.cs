using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// Attention's masked softmax against <see cref="Softmax"/> on each row's visible prefix: row i of a [T, T] matrix
/// is the softmax of its first i + 1 scores, the rest zero, and the backward pass is softmax's on that prefix.
/// </summary>
public sealed class CausalSoftmaxTests
{
    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var width in (int[])[512, 256, 128, 0])
        {
            data.Add(width, 1, 1);
            data.Add(width, 3, 17);
            data.Add(width, 5, 64);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_is_softmax_over_each_rows_past_and_zero_over_its_future(int width, int matrices, int t)
    {
        var scores = RandomArray(matrices * t * t, 1, 4f);
        var expected = new float[scores.Length];
        for (var row = 0; row < matrices * t; row++)
        {
            var visible = (row % t) + 1;
            With(width, 1, () => Softmax.Forward(expected.AsSpan(row * t, visible), scores.AsSpan(row * t, visible), 1, visible));
        }

        With(width, 1, () => Softmax.CausalForward(scores, matrices, t));

        AssertBitIdentical(expected, scores);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_is_softmax_backward_over_each_rows_past_in_place(int width, int matrices, int t)
    {
        var probabilities = RandomArray(matrices * t * t, 2, 4f);
        Softmax.CausalForward(probabilities, matrices, t);
        var grads = RandomArray(probabilities.Length, 3);
        var expected = new float[grads.Length];
        for (var row = 0; row < matrices * t; row++)
        {
            var (visible, offset) = ((row % t) + 1, row * t);
            With(width, 1, () => Softmax.Backward(
                expected.AsSpan(offset, visible), probabilities.AsSpan(offset, visible), grads.AsSpan(offset, visible), 1, visible));
        }

        With(width, 1, () => Softmax.CausalBackward(grads, probabilities, matrices, t));

        AssertBitIdentical(expected, grads);
    }

    [Fact]
    public void One_and_two_threads_give_identical_bits()
    {
        const int matrices = 48, t = 64;
        float[] Run(int threads)
        {
            var probabilities = RandomArray(matrices * t * t, 4, 4f);
            var grads = RandomArray(probabilities.Length, 5);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                Softmax.CausalForward(probabilities, matrices, t);
                Softmax.CausalBackward(grads, probabilities, matrices, t);
            });
            return [.. probabilities, .. grads];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        const int matrices = 48, t = 64;
        var (scores, grads) = (RandomArray(matrices * t * t, 6), RandomArray(matrices * t * t, 7));
        Assert.Equal(0, AllocatedBytes(() =>
        {
            Softmax.CausalForward(scores, matrices, t);
            Softmax.CausalBackward(grads, scores, matrices, t);
        }));
    }
}
