using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// LayerNorm against a double twin. The mean and the variance are float sums of cols terms (each within cols·u
/// relative of exact), rstd adds a few roundings, and the affine map two more; x̂ carries these errors into y, so
/// the tolerance is 4·(cols + 16)·u times the size of the terms of the result (|x̂·γ| + |β| + 1).
/// </summary>
public sealed class LayerNormTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Forward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        // An offset mean (3) checks that the variance does not cancel.
        var x = RandomArray(rows * cols, 1).Select(v => v + 3f).ToArray();
        var (gamma, beta) = (RandomArray(cols, 2), RandomArray(cols, 3));
        var (y, mean, rstd) = (new float[x.Length], new float[rows], new float[rows]);
        With(width, 1, () => LayerNorm.Forward(y, mean, rstd, x, gamma, beta, rows, cols));

        var (expected, normalized, expectedMean, expectedRstd) = Naive(x, gamma, beta, rows, cols);
        var tolerance = 4 * (cols + 16) * Unit;
        AssertClose(expected, y, i => tolerance * ((Math.Abs(normalized[i]) * Math.Abs(gamma[i % cols])) + Math.Abs(beta[i % cols]) + 1), "y");
        AssertClose(expectedMean, mean, i => tolerance * 4, "mean");
        AssertClose(expectedRstd, rstd, i => tolerance * expectedRstd[i], "rstd");
    }

    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Backward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        var x = RandomArray(rows * cols, 4);
        var gamma = RandomArray(cols, 5);
        var (y, mean, rstd) = (new float[x.Length], new float[rows], new float[rows]);
        LayerNorm.Forward(y, mean, rstd, x, gamma, new float[cols], rows, cols);
        var dy = RandomArray(rows * cols, 6);
        var (dx, dgamma, dbeta) = (RandomArray(rows * cols, 7), RandomArray(cols, 8), RandomArray(cols, 9));
        var (dxBefore, dgammaBefore, dbetaBefore) = ((float[])dx.Clone(), (float[])dgamma.Clone(), (float[])dbeta.Clone());
        With(width, 1, () => LayerNorm.Backward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols));

        // The twin uses the kernel's own mean and rstd, so only the backward arithmetic is compared: sums of cols
        // (for dx) or rows (for dγ, dβ) terms of size up to rstd·|dy·γ|·(1 + |x̂|²), hence the bound.
        var (expectedDx, expectedDgamma, expectedDbeta) = (new double[dx.Length], new double[cols], new double[cols]);
        var scale = 0.0;
        for (var r = 0; r < rows; r++)
        {
            double meanGradient = 0, meanGradientDotNormalized = 0;
            for (var j = 0; j < cols; j++)
            {
                var i = (r * cols) + j;
                var normalized = (x[i] - (double)mean[r]) * rstd[r];
                meanGradient += (double)dy[i] * gamma[j] / cols;
                meanGradientDotNormalized += (double)dy[i] * gamma[j] * normalized / cols;
                scale = Math.Max(scale, rstd[r] * (1 + (normalized * normalized)));
            }
            for (var j = 0; j < cols; j++)
            {
                var i = (r * cols) + j;
                var normalized = (x[i] - (double)mean[r]) * rstd[r];
                expectedDx[i] = dxBefore[i] + (rstd[r] * (((double)dy[i] * gamma[j]) - meanGradient - (normalized * meanGradientDotNormalized)));
                expectedDgamma[j] += dy[i] * normalized;
                expectedDbeta[j] += dy[i];
            }
        }
        for (var j = 0; j < cols; j++)
        {
            expectedDgamma[j] += dgammaBefore[j];
            expectedDbeta[j] += dbetaBefore[j];
        }
        AssertClose(expectedDx, dx, i => 4 * (cols + 16) * Unit * (scale + Math.Abs(dxBefore[i])), "dx");
        AssertClose(expectedDgamma, dgamma, j => 4 * (rows + 16) * Unit * (rows * scale + Math.Abs(dgammaBefore[j])), "dgamma");
        AssertClose(expectedDbeta, dbeta, j => (rows + 2) * Unit * (rows + Math.Abs(dbetaBefore[j])), "dbeta");
    }

    [Fact]
    public void Backward_matches_finite_differences()
    {
        const int rows = 2, cols = 5;
        var x = RandomArray(rows * cols, 10);
        var gamma = RandomArray(cols, 11);
        var beta = RandomArray(cols, 12);
        var projection = RandomArray(rows * cols, 13);
        var (y, mean, rstd) = (new float[x.Length], new float[rows], new float[rows]);
        double Loss()
        {
            LayerNorm.Forward(y, mean, rstd, x, gamma, beta, rows, cols);
            double sum = 0;
            for (var i = 0; i < y.Length; i++)
            {
                sum += (double)y[i] * projection[i];
            }
            return sum;
        }

        Loss();
        var (dx, dgamma, dbeta) = (new float[x.Length], new float[cols], new float[cols]);
        LayerNorm.Backward(dx, dgamma, dbeta, projection, x, mean, rstd, gamma, rows, cols);
        foreach (var (values, gradient, name) in new[] { (x, dx, "x"), (gamma, dgamma, "gamma"), (beta, dbeta, "beta") })
        {
            for (var i = 0; i < values.Length; i++)
            {
                // ε = 1e-3 keeps the O(ε²) truncation near 1e-5 while float rounding of L adds about 1e-7 / ε.
                const float epsilon = 1e-3f;
                var original = values[i];
                values[i] = original + epsilon;
                var plus = Loss();
                values[i] = original - epsilon;
                var minus = Loss();
                values[i] = original;
                var numeric = (plus - minus) / (2 * epsilon);
                Assert.True(Math.Abs(numeric - gradient[i]) <= 2e-3 * Math.Max(1, Math.Abs(numeric)), $"{name}[{i}]: analytic {gradient[i]}, numeric {numeric}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void AddForward_gives_the_bits_of_an_addition_then_forward(int width, int rows, int cols)
    {
        var (a, b) = (RandomArray(rows * cols, 21), RandomArray(rows * cols, 22));
        var (gamma, beta) = (RandomArray(cols, 23), RandomArray(cols, 24));
        var (expectedSum, expectedY, expectedMean, expectedRstd) = (new float[a.Length], new float[a.Length], new float[rows], new float[rows]);
        var (sum, y, mean, rstd) = (new float[a.Length], new float[a.Length], new float[rows], new float[rows]);
        With(width, 1, () =>
        {
            ElementWise.Add(expectedSum, a, b);
            LayerNorm.Forward(expectedY, expectedMean, expectedRstd, expectedSum, gamma, beta, rows, cols);
        });

        With(width, 2, () => LayerNorm.AddForward(sum, y, mean, rstd, a, b, gamma, beta, rows, cols));

        AssertBitIdentical(expectedSum, sum);
        AssertBitIdentical(expectedY, y);
        AssertBitIdentical(expectedMean, mean);
        AssertBitIdentical(expectedRstd, rstd);
    }

    [Fact]
    public void AddForward_on_two_threads_gives_the_bits_of_one()
    {
        const int rows = 64, cols = 1000;
        var (a, b) = (RandomArray(rows * cols, 25), RandomArray(rows * cols, 26));
        var (gamma, beta) = (RandomArray(cols, 27), RandomArray(cols, 28));
        float[] Run(int threads)
        {
            var (sum, y, mean, rstd) = (new float[a.Length], new float[a.Length], new float[rows], new float[rows]);
            With(KernelSettings.HardwareVectorWidth, threads, () => LayerNorm.AddForward(sum, y, mean, rstd, a, b, gamma, beta, rows, cols));
            return [.. sum, .. y, .. mean, .. rstd];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void One_and_two_threads_give_identical_bits()
    {
        const int rows = 64, cols = 1000;
        var x = RandomArray(rows * cols, 14);
        var (gamma, beta, dy) = (RandomArray(cols, 15), RandomArray(cols, 16), RandomArray(rows * cols, 17));
        float[] Run(int threads)
        {
            var (y, mean, rstd, dx, dgamma, dbeta) = (new float[x.Length], new float[rows], new float[rows], new float[x.Length], new float[cols], new float[cols]);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                LayerNorm.Forward(y, mean, rstd, x, gamma, beta, rows, cols);
                LayerNorm.Backward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols);
            });
            return [.. y, .. mean, .. rstd, .. dx, .. dgamma, .. dbeta];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        const int rows = 64, cols = 1000;
        var x = RandomArray(rows * cols, 18);
        var (gamma, beta) = (RandomArray(cols, 19), RandomArray(cols, 20));
        var (y, mean, rstd, dx, dgamma, dbeta) = (new float[x.Length], new float[rows], new float[rows], new float[x.Length], new float[cols], new float[cols]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            LayerNorm.Forward(y, mean, rstd, x, gamma, beta, rows, cols);
            LayerNorm.Backward(dx, dgamma, dbeta, x, x, mean, rstd, gamma, rows, cols);
        }));
    }

    private static (double[] Y, double[] Normalized, double[] Mean, double[] Rstd) Naive(float[] x, float[] gamma, float[] beta, int rows, int cols)
    {
        var (y, normalized, means, rstds) = (new double[x.Length], new double[x.Length], new double[rows], new double[rows]);
        for (var r = 0; r < rows; r++)
        {
            double mean = 0, variance = 0;
            for (var j = 0; j < cols; j++)
            {
                mean += x[(r * cols) + j];
            }
            mean /= cols;
            for (var j = 0; j < cols; j++)
            {
                variance += (x[(r * cols) + j] - mean) * (x[(r * cols) + j] - mean);
            }
            var rstd = 1 / Math.Sqrt((variance / cols) + LayerNorm.DefaultEpsilon);
            for (var j = 0; j < cols; j++)
            {
                normalized[(r * cols) + j] = (x[(r * cols) + j] - mean) * rstd;
                y[(r * cols) + j] = (normalized[(r * cols) + j] * gamma[j]) + beta[j];
            }
            (means[r], rstds[r]) = (mean, rstd);
        }
        return (y, normalized, means, rstds);
    }
}
