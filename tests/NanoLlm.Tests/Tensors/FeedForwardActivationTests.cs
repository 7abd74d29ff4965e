using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// ReLU² and SwiGLU against double twins. ReLU² is two roundings (one forward, two backward); SwiGLU goes through the
/// kernels' exponential (a few units of rounding) and a division, so it gets 16 units of its terms' size.
/// </summary>
public sealed class FeedForwardActivationTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.Lengths), MemberType = typeof(KernelTestData))]
    public void Relu_squared_matches_naive_on_odd_lengths(int width, int length)
    {
        var (x, dy) = (RandomArray(length, 1, 3f), RandomArray(length, 2));
        var (y, dx) = (new float[length], new float[length]);
        With(width, 1, () =>
        {
            ReluSquared.Forward(y, x);
            ReluSquared.Backward(dx, x, dy);
        });

        AssertClose([.. x.Select(v => v > 0 ? (double)v * v : 0)], y, i => 2 * Unit * x[i] * x[i], "y");
        AssertClose([.. x.Select((v, i) => v > 0 ? 2.0 * v * dy[i] : 0)], dx, i => 4 * Unit * Math.Abs(2.0 * x[i] * dy[i]), "dx");
    }

    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Swiglu_matches_naive_on_odd_shapes(int width, int rows, int hidden)
    {
        var h = RandomArray(rows * 2 * hidden, 3, 4f);
        var da = RandomArray(rows * hidden, 4);
        var (a, dh) = (new float[rows * hidden], new float[rows * 2 * hidden]);
        With(width, 1, () =>
        {
            SwiGlu.Forward(a, h, rows, hidden);
            SwiGlu.Backward(dh, h, da, rows, hidden);
        });

        var (expectedA, expectedDh, size) = (new double[a.Length], new double[dh.Length], new double[dh.Length]);
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < hidden; j++)
            {
                var (g, u, d) = ((double)h[(r * 2 * hidden) + j], (double)h[(r * 2 * hidden) + hidden + j], (double)da[(r * hidden) + j]);
                var s = 1 / (1 + Math.Exp(-g));
                expectedA[(r * hidden) + j] = g * s * u;
                expectedDh[(r * 2 * hidden) + j] = d * u * s * (1 + (g * (1 - s)));
                expectedDh[(r * 2 * hidden) + hidden + j] = d * g * s;
                size[(r * 2 * hidden) + j] = Math.Abs(d * u) * (1 + Math.Abs(g));
                size[(r * 2 * hidden) + hidden + j] = Math.Abs(d * g);
            }
        }
        AssertClose(expectedA, a, i => 16 * Unit * (Math.Abs(expectedA[i]) + 1e-30), "a");
        AssertClose(expectedDh, dh, i => 16 * Unit * size[i], "dh");
    }

    [Fact]
    public void Swiglu_gives_identical_bits_for_one_and_two_threads()
    {
        const int rows = 64, hidden = 300;
        var (h, da) = (RandomArray(rows * 2 * hidden, 5, 4f), RandomArray(rows * hidden, 6));
        float[] Run(int threads)
        {
            var (a, dh) = (new float[rows * hidden], new float[rows * 2 * hidden]);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                SwiGlu.Forward(a, h, rows, hidden);
                SwiGlu.Backward(dh, h, da, rows, hidden);
            });
            return [.. a, .. dh];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        const int rows = 64, hidden = 300;
        var (h, da) = (RandomArray(rows * 2 * hidden, 7), RandomArray(rows * hidden, 8));
        var (a, dh, y) = (new float[rows * hidden], new float[rows * 2 * hidden], new float[rows * hidden]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            SwiGlu.Forward(a, h, rows, hidden);
            SwiGlu.Backward(dh, h, da, rows, hidden);
            ReluSquared.Forward(y, a);
            ReluSquared.Backward(y, a, da);
        }));
    }
}
