using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// RMSNorm against a double twin, with LayerNorm's bounds: the mean square is a float sum of cols terms, rstd adds a
/// few roundings and the gain one more, so the tolerance is 4·(cols + 16)·u times the size of the result's terms.
/// </summary>
public sealed class RmsNormTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Forward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        var x = RandomArray(rows * cols, 1).Select(v => v + 0.5f).ToArray();
        var gamma = RandomArray(cols, 2);
        var (y, rstd) = (new float[x.Length], new float[rows]);
        With(width, 1, () => RmsNorm.Forward(y, rstd, x, gamma, rows, cols));

        var tolerance = 4 * (cols + 16) * Unit;
        for (var r = 0; r < rows; r++)
        {
            double meanSquare = 0;
            for (var j = 0; j < cols; j++)
            {
                meanSquare += (double)x[(r * cols) + j] * x[(r * cols) + j] / cols;
            }
            var expectedRstd = 1 / Math.Sqrt(meanSquare + LayerNorm.DefaultEpsilon);
            Assert.True(Math.Abs(expectedRstd - rstd[r]) <= tolerance * expectedRstd, $"rstd[{r}]: {expectedRstd} vs {rstd[r]}");
            for (var j = 0; j < cols; j++)
            {
                var i = (r * cols) + j;
                var expected = x[i] * expectedRstd * gamma[j];
                Assert.True(Math.Abs(expected - y[i]) <= tolerance * (Math.Abs(x[i] * expectedRstd * gamma[j]) + 1), $"y[{i}]: {expected} vs {y[i]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Backward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        var x = RandomArray(rows * cols, 4);
        var gamma = RandomArray(cols, 5);
        var (y, rstd) = (new float[x.Length], new float[rows]);
        RmsNorm.Forward(y, rstd, x, gamma, rows, cols);
        var dy = RandomArray(rows * cols, 6);
        var (dx, dgamma) = (RandomArray(rows * cols, 7), RandomArray(cols, 8));
        var (dxBefore, dgammaBefore) = ((float[])dx.Clone(), (float[])dgamma.Clone());
        With(width, 1, () => RmsNorm.Backward(dx, dgamma, dy, x, rstd, gamma, rows, cols));

        // The twin uses the kernel's own rstd, so only the backward arithmetic is compared.
        var (expectedDx, expectedDgamma) = (new double[dx.Length], dgammaBefore.Select(v => (double)v).ToArray());
        var scale = 0.0;
        for (var r = 0; r < rows; r++)
        {
            double meanGradientDotNormalized = 0;
            for (var j = 0; j < cols; j++)
            {
                var normalized = x[(r * cols) + j] * (double)rstd[r];
                meanGradientDotNormalized += (double)dy[(r * cols) + j] * gamma[j] * normalized / cols;
                scale = Math.Max(scale, rstd[r] * (1 + (normalized * normalized)));
            }
            for (var j = 0; j < cols; j++)
            {
                var i = (r * cols) + j;
                var normalized = x[i] * (double)rstd[r];
                expectedDx[i] = dxBefore[i] + (rstd[r] * (((double)dy[i] * gamma[j]) - (normalized * meanGradientDotNormalized)));
                expectedDgamma[j] += dy[i] * normalized;
            }
        }
        AssertClose(expectedDx, dx, i => 4 * (cols + 16) * Unit * (scale + Math.Abs(dxBefore[i])), "dx");
        AssertClose(expectedDgamma, dgamma, j => 4 * (rows + 16) * Unit * (rows * scale + Math.Abs(dgammaBefore[j])), "dgamma");
    }

    [Fact]
    public void One_and_two_threads_give_identical_bits()
    {
        const int rows = 64, cols = 1000;
        var x = RandomArray(rows * cols, 14);
        var (gamma, dy) = (RandomArray(cols, 15), RandomArray(rows * cols, 17));
        float[] Run(int threads)
        {
            var (y, rstd, dx, dgamma) = (new float[x.Length], new float[rows], new float[x.Length], new float[cols]);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                RmsNorm.Forward(y, rstd, x, gamma, rows, cols);
                RmsNorm.Backward(dx, dgamma, dy, x, rstd, gamma, rows, cols);
            });
            return [.. y, .. rstd, .. dx, .. dgamma];
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        const int rows = 64, cols = 1000;
        var x = RandomArray(rows * cols, 18);
        var gamma = RandomArray(cols, 19);
        var (y, rstd, dx, dgamma) = (new float[x.Length], new float[rows], new float[x.Length], new float[cols]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            RmsNorm.Forward(y, rstd, x, gamma, rows, cols);
            RmsNorm.Backward(dx, dgamma, x, x, rstd, gamma, rows, cols);
        }));
    }
}
