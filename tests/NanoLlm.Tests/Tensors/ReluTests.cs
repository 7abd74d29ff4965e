using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>ReLU is exact (a select, and one float addition backward), so it must equal its twin bit for bit.</summary>
public sealed class ReluTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.Lengths), MemberType = typeof(KernelTestData))]
    public void Forward_and_backward_match_naive_on_odd_lengths(int width, int length)
    {
        var x = RandomArray(length, 1);
        var dy = RandomArray(length, 2);
        var (y, dx) = (new float[length], RandomArray(length, 3));
        var before = (float[])dx.Clone();
        With(width, 1, () =>
        {
            Relu.Forward(y, x);
            Relu.Backward(dx, x, dy);
        });

        Assert.Equal(x.Select(v => v > 0 ? v : 0f), y);
        Assert.Equal(before.Select((v, i) => x[i] > 0 ? v + dy[i] : v), dx);
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        var (x, y) = (RandomArray(1000, 4), new float[1000]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            Relu.Forward(y, x);
            Relu.Backward(y, x, x);
        }));
    }
}
