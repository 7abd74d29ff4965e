using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// The fused softmax cross-entropy against a double twin. A row's loss is log Σe^(x − max) − (x_t − max): the float
/// sum is within (cols + 16)·u relative (see <see cref="SoftmaxTests"/>), which moves the log by that much absolute;
/// the gradient is the softmax's error scaled by 1/rows, plus one rounding of the target's subtraction.
/// </summary>
public sealed class CrossEntropyTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void ForwardBackward_matches_naive_on_odd_shapes(int width, int rows, int cols)
    {
        var logits = RandomArray(rows * cols, 1, 4f);
        var targets = RandomTokens(rows, cols, 2);
        var dlogits = RandomArray(rows * cols, 3);
        var loss = 0.0;
        With(width, 1, () => loss = CrossEntropy.ForwardBackward(dlogits, logits, targets, rows, cols));

        var (expectedLoss, expectedGradient) = Naive(logits, targets, rows, cols);
        Assert.True(Math.Abs(loss - expectedLoss) <= (cols + 32) * Unit * (1 + Math.Abs(expectedLoss)), $"loss {loss} vs {expectedLoss}");
        AssertClose(expectedGradient, dlogits, i => ((cols + 16) * Unit * Math.Abs(expectedGradient[i])) + (2 * Unit / rows), "dlogits");
    }

    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Forward_returns_the_same_loss_as_ForwardBackward(int width, int rows, int cols)
    {
        var logits = RandomArray(rows * cols, 4, 4f);
        var targets = RandomTokens(rows, cols, 5);
        var (withGradient, alone) = (0.0, 0.0);
        With(width, 1, () =>
        {
            withGradient = CrossEntropy.ForwardBackward(new float[rows * cols], logits, targets, rows, cols);
            alone = CrossEntropy.Forward(logits, targets, rows, cols);
        });
        Assert.Equal(withGradient, alone);
    }

    [Fact]
    public void Gradient_matches_finite_differences_of_the_loss()
    {
        const int rows = 3, cols = 6;
        var logits = RandomArray(rows * cols, 8, 2f);
        var targets = RandomTokens(rows, cols, 9);
        var dlogits = new float[logits.Length];
        CrossEntropy.ForwardBackward(dlogits, logits, targets, rows, cols);
        for (var i = 0; i < logits.Length; i++)
        {
            // The loss is summed in double, so ε = 1e-2 leaves only the O(ε²) truncation, about 1e-5 here.
            const float epsilon = 1e-2f;
            var original = logits[i];
            logits[i] = original + epsilon;
            var plus = CrossEntropy.Forward(logits, targets, rows, cols);
            logits[i] = original - epsilon;
            var minus = CrossEntropy.Forward(logits, targets, rows, cols);
            logits[i] = original;
            var numeric = (plus - minus) / (2 * epsilon);
            Assert.True(Math.Abs(numeric - dlogits[i]) <= 1e-4, $"logits[{i}]: analytic {dlogits[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Longer_buffers_use_their_leading_rows()
    {
        const int rows = 3, cols = 7;
        var logits = RandomArray(2 * rows * cols, 14);
        var targets = RandomTokens(2 * rows, cols, 15);
        var (exact, longer) = (new float[rows * cols], new float[2 * rows * cols]);
        Assert.Equal(
            CrossEntropy.ForwardBackward(exact, logits.AsSpan(0, rows * cols), targets.AsSpan(0, rows), rows, cols),
            CrossEntropy.ForwardBackward(longer, logits, targets, rows, cols));
        Assert.Equal(exact, longer[..(rows * cols)]);
    }

    [Fact]
    public void Rejects_a_target_outside_the_classes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Forward(new float[6], [1, 3], 2, 3));
    }

    [Fact]
    public void One_and_two_threads_give_identical_bits()
    {
        const int rows = 64, cols = 1000;
        var logits = RandomArray(rows * cols, 10, 4f);
        var targets = RandomTokens(rows, cols, 11);
        (double Loss, float[] Gradient) Run(int threads)
        {
            var gradient = new float[logits.Length];
            var loss = 0.0;
            With(KernelSettings.HardwareVectorWidth, threads, () => loss = CrossEntropy.ForwardBackward(gradient, logits, targets, rows, cols));
            return (loss, gradient);
        }

        var (one, two) = (Run(1), Run(2));
        Assert.Equal(BitConverter.DoubleToInt64Bits(one.Loss), BitConverter.DoubleToInt64Bits(two.Loss));
        AssertBitIdentical(one.Gradient, two.Gradient);
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        const int rows = 64, cols = 1000;
        var (logits, dlogits, targets) = (RandomArray(rows * cols, 12), new float[rows * cols], RandomTokens(rows, cols, 13));
        Assert.Equal(0, AllocatedBytes(() => CrossEntropy.ForwardBackward(dlogits, logits, targets, rows, cols)));
    }

    private static (double Loss, double[] Gradient) Naive(float[] logits, int[] targets, int rows, int cols)
    {
        var gradient = new double[logits.Length];
        double loss = 0;
        for (var r = 0; r < rows; r++)
        {
            var max = double.NegativeInfinity;
            for (var j = 0; j < cols; j++)
            {
                max = Math.Max(max, logits[(r * cols) + j]);
            }
            double sum = 0;
            for (var j = 0; j < cols; j++)
            {
                sum += Math.Exp(logits[(r * cols) + j] - max);
            }
            for (var j = 0; j < cols; j++)
            {
                gradient[(r * cols) + j] = (Math.Exp(logits[(r * cols) + j] - max) / sum / rows) - (j == targets[r] ? 1.0 / rows : 0);
            }
            loss += Math.Log(sum) - (logits[(r * cols) + targets[r]] - max);
        }
        return (loss / rows, gradient);
    }
}
