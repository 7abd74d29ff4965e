using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// Softmax against a double twin. Each output is e^(x − max) (about 2 ulp from the polynomial, plus the rounding of
/// x − max, at most |x − max|·u relative) over a float sum of cols positive terms (within cols·u relative), then one
/// division: the tolerance is (cols + 16)·u relative to the exact value for inputs in [−4, 4].
/// </summary>
public sealed class SoftmaxTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Forward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        var x = RandomArray(rows * cols, 1, 4f);
        var y = new float[x.Length];
        With(width, 1, () => Softmax.Forward(y, x, rows, cols));

        var expected = Naive(x, rows, cols);
        AssertClose(expected, y, i => ((cols + 16) * Unit * expected[i]) + 1e-30, "y");
    }

    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Backward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        var y = new float[rows * cols];
        Softmax.Forward(y, RandomArray(rows * cols, 2, 4f), rows, cols);
        var dy = RandomArray(rows * cols, 3);
        var dx = RandomArray(rows * cols, 4);
        var before = (float[])dx.Clone();
        With(width, 1, () => Softmax.Backward(dx, y, dy, rows, cols));

        // dx = dx₀ + y·(dy − Σ dy·y): the dot is a float sum of cols terms, so its error is within cols·u·Σ|dy·y| ≤ cols·u.
        var expected = new double[dx.Length];
        for (var r = 0; r < rows; r++)
        {
            double dot = 0;
            for (var j = 0; j < cols; j++)
            {
                dot += (double)dy[(r * cols) + j] * y[(r * cols) + j];
            }
            for (var j = 0; j < cols; j++)
            {
                var i = (r * cols) + j;
                expected[i] = before[i] + (y[i] * (dy[i] - dot));
            }
        }
        AssertClose(expected, dx, i => (cols + 4) * Unit * (Math.Abs(before[i]) + (y[i] * (Math.Abs(dy[i]) + 1))) + 1e-30, "dx");
    }

    [Fact]
    public void Backward_matches_finite_differences()
    {
        const int rows = 2, cols = 5;
        var x = RandomArray(rows * cols, 5, 2f);
        var projection = RandomArray(rows * cols, 6);
        var y = new float[x.Length];
        double Loss()
        {
            Softmax.Forward(y, x, rows, cols);
            double sum = 0;
            for (var i = 0; i < y.Length; i++)
            {
                sum += (double)y[i] * projection[i];
            }
            return sum;
        }

        Loss();
        var dx = new float[x.Length];
        Softmax.Backward(dx, y, projection, rows, cols);
        for (var i = 0; i < x.Length; i++)
        {
            // ε = 1e-2: truncation O(ε²) ≈ 1e-4 and float rounding of L about 1e-7 / ε, both far below the tolerance.
            const float epsilon = 1e-2f;
            var original = x[i];
            x[i] = original + epsilon;
            var plus = Loss();
            x[i] = original - epsilon;
            var minus = Loss();
            x[i] = original;
            var numeric = (plus - minus) / (2 * epsilon);
            Assert.True(Math.Abs(numeric - dx[i]) <= 1e-3, $"x[{i}]: analytic {dx[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Forward_is_stable_for_large_logits_and_gives_zero_for_minus_infinity()
    {
        float[] x = [1000f, 999f, float.NegativeInfinity, -1000f];
        var y = new float[4];
        Softmax.Forward(y, x, 1, 4);
        Assert.Equal(1 / (1 + Math.Exp(-1)), y[0], 1e-6);
        Assert.Equal(0f, y[2]);
        Assert.Equal(0f, y[3]);
    }

    [Fact]
    public void One_and_two_threads_give_identical_bits()
    {
        const int rows = 64, cols = 1000;
        var x = RandomArray(rows * cols, 7, 4f);
        var dy = RandomArray(rows * cols, 8);
        float[] Run(int threads)
        {
            var (y, dx) = (new float[x.Length], new float[x.Length]);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                Softmax.Forward(y, x, rows, cols);
                Softmax.Backward(dx, y, dy, rows, cols);
            });
            return [.. y, .. dx];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        const int rows = 64, cols = 1000;
        var (x, y, dx) = (RandomArray(rows * cols, 9), new float[rows * cols], new float[rows * cols]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            Softmax.Forward(y, x, rows, cols);
            Softmax.Backward(dx, y, x, rows, cols);
        }));
    }

    private static double[] Naive(float[] x, int rows, int cols)
    {
        var y = new double[x.Length];
        for (var r = 0; r < rows; r++)
        {
            var max = double.NegativeInfinity;
            for (var j = 0; j < cols; j++)
            {
                max = Math.Max(max, x[(r * cols) + j]);
            }
            double sum = 0;
            for (var j = 0; j < cols; j++)
            {
                sum += Math.Exp(x[(r * cols) + j] - max);
            }
            for (var j = 0; j < cols; j++)
            {
                y[(r * cols) + j] = Math.Exp(x[(r * cols) + j] - max) / sum;
            }
        }
        return y;
    }
}
