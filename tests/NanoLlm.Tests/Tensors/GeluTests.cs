using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// GELU against the tanh formula in double. The kernel's argument 2u is rounded a few times (relative error about
/// 4u·|2u| in e^(−2u)), the exponential adds about 2 ulp, and 1 + e and the division one each; σ and x·σ carry these
/// relative errors through at most unchanged, so the tolerance is (8 + 4·|2u|)·u relative.
/// </summary>
public sealed class GeluTests
{
    private static readonly double SqrtTwoOverPi = Math.Sqrt(2 / Math.PI);

    [Theory]
    [MemberData(nameof(KernelTestData.Lengths), MemberType = typeof(KernelTestData))]
    public void Forward_matches_naive_on_odd_lengths(int width, int length)
    {
        var x = RandomArray(length, 1, 6f);
        var y = new float[length];
        With(width, 1, () => Gelu.Forward(y, x));

        var expected = x.Select(v => 0.5 * v * (1 + Math.Tanh(U(v)))).ToArray();
        AssertClose(expected, y, i => ((8 + (8 * Math.Abs(U(x[i])))) * Unit * Math.Abs(expected[i])) + 1e-30, "y");
    }

    [Theory]
    [MemberData(nameof(KernelTestData.Lengths), MemberType = typeof(KernelTestData))]
    public void Backward_matches_the_analytic_derivative(int width, int length)
    {
        var x = RandomArray(length, 2, 6f);
        var dy = RandomArray(length, 3);
        var dx = RandomArray(length, 4);
        With(width, 1, () => Gelu.Backward(dx, x, dy));

        // d/dx ½x(1 + tanh u) = ½(1 + tanh u) + ½x·(1 − tanh²u)·u′; each term within (8 + 8|u|)·u of its size.
        var expected = new double[length];
        var size = new double[length];
        for (var i = 0; i < length; i++)
        {
            var tanh = Math.Tanh(U(x[i]));
            var slope = SqrtTwoOverPi * (1 + (3 * 0.044715 * x[i] * x[i]));
            var derivative = (0.5 * (1 + tanh)) + (0.5 * x[i] * (1 - (tanh * tanh)) * slope);
            expected[i] = dy[i] * derivative;
            size[i] = Math.Abs(dy[i]) * ((0.5 * (1 + tanh)) + Math.Abs(0.5 * x[i] * (1 - (tanh * tanh)) * slope));
        }
        AssertClose(expected, dx, i => (16 + (16 * Math.Abs(U(x[i])))) * Unit * size[i], "dx");
    }

    [Theory]
    [MemberData(nameof(KernelTestData.Widths), MemberType = typeof(KernelTestData))]
    public void Backward_in_place_over_dy_gives_the_same_bits(int width)
    {
        var x = RandomArray(1_000, 9, 6f);
        var dy = RandomArray(1_000, 10);
        var separate = new float[dy.Length];
        With(width, 1, () =>
        {
            Gelu.Backward(separate, x, dy);
            Gelu.Backward(dy, x, dy);
        });

        AssertBitIdentical(separate, dy);
    }

    [Fact]
    public void Backward_matches_finite_differences_of_the_forward()
    {
        var x = RandomArray(40, 5, 4f);
        var (plus, minus, dx) = (new float[1], new float[1], new float[40]);
        var ones = Enumerable.Repeat(1f, 40).ToArray();
        Gelu.Backward(dx, x, ones);
        for (var i = 0; i < x.Length; i++)
        {
            // ε = 1e-2: truncation ε²·|f‴|/6 < 1e-4, float rounding of y about 1e-7·|x| / ε.
            const float epsilon = 1e-2f;
            Gelu.Forward(plus, [x[i] + epsilon]);
            Gelu.Forward(minus, [x[i] - epsilon]);
            var numeric = ((double)plus[0] - minus[0]) / (2 * epsilon);
            Assert.True(Math.Abs(numeric - dx[i]) <= 1e-3, $"x = {x[i]}: analytic {dx[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Large_inputs_give_the_identity_or_zero()
    {
        var y = new float[4];
        Gelu.Forward(y, [50f, -50f, 1e30f, -1e30f]);
        Assert.Equal([50f, 0f, 1e30f, 0f], y.Select(v => v == 0 ? 0f : v));
    }

    [Fact]
    public void One_and_two_threads_give_identical_bits()
    {
        var x = RandomArray(40_000, 6, 6f);
        var dy = RandomArray(40_000, 7);
        float[] Run(int threads)
        {
            var (y, dx) = (new float[x.Length], new float[x.Length]);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                Gelu.Forward(y, x);
                Gelu.Backward(dx, x, dy);
            });
            return [.. y, .. dx];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        var (x, y) = (RandomArray(40_000, 8), new float[40_000]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            Gelu.Forward(y, x);
            Gelu.Backward(y, x, x);
        }));
    }

    private static double U(float x) => SqrtTwoOverPi * (x + (0.044715 * x * x * x));
}
