using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// Element-wise helpers: one rounding per element (exact equality with the float twin, which rounds the same way;
/// AXPY is fused, so its twin is too). Sums compare with double twins within n·u of the sum of magnitudes.
/// </summary>
public sealed class ElementWiseTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.Lengths), MemberType = typeof(KernelTestData))]
    public void Add_scale_multiply_and_axpy_match_naive(int width, int length)
    {
        var x = RandomArray(length, 1);
        var y = RandomArray(length, 2);
        var (sum, sumInPlace, product, scaled, axpy) = (new float[length], (float[])y.Clone(), new float[length], (float[])x.Clone(), (float[])y.Clone());
        With(width, 1, () =>
        {
            ElementWise.Add(sum, x, y);
            ElementWise.Add(sumInPlace, x);
            ElementWise.Multiply(product, x, y);
            ElementWise.Scale(scaled, 0.3f);
            ElementWise.Axpy(axpy, -1.7f, x);
        });

        Assert.Equal(x.Select((v, i) => v + y[i]), sum);
        Assert.Equal(sum, sumInPlace);
        Assert.Equal(x.Select((v, i) => v * y[i]), product);
        Assert.Equal(x.Select(v => 0.3f * v), scaled);
        Assert.Equal(x.Select((v, i) => MathF.FusedMultiplyAdd(-1.7f, v, y[i])), axpy);
    }

    [Theory]
    [MemberData(nameof(KernelTestData.Lengths), MemberType = typeof(KernelTestData))]
    public void Sums_match_naive(int width, int length)
    {
        var x = RandomArray(length, 3, 100f);
        var y = RandomArray(length, 4);
        var (squares, dot) = (0.0, 0f);
        With(width, 1, () =>
        {
            squares = ElementWise.SumOfSquares(x);
            dot = ElementWise.Dot(x, y);
        });

        // Squares of floats are exact in double, so only the double sum rounds: within n·2⁻⁵³ of the total.
        var expectedSquares = x.Sum(v => (double)v * v);
        Assert.True(Math.Abs(squares - expectedSquares) <= length * Math.Pow(2, -53) * expectedSquares);
        var expectedDot = x.Select((v, i) => (double)v * y[i]).Sum();
        var magnitude = x.Select((v, i) => Math.Abs((double)v * y[i])).Sum();
        Assert.True(Math.Abs(dot - expectedDot) <= (length + 1) * Unit * magnitude, $"dot {dot} vs {expectedDot}");
    }

    [Fact]
    public void Rejects_spans_of_different_lengths()
    {
        Assert.Throws<ArgumentException>(() => ElementWise.Add(new float[3], new float[4]));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        var (x, y) = (RandomArray(1000, 5), new float[1000]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            ElementWise.Add(y, x);
            ElementWise.Axpy(y, 0.5f, x);
            ElementWise.Scale(y, 0.5f);
            ElementWise.SumOfSquares(y);
        }));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 7)]
    [InlineData(2, 65_536)]
    [InlineData(2, 300_001)]
    public void Clear_zeroes_every_element_and_nothing_beyond(int threads, int length)
    {
        var buffer = RandomArray(length + 5, 6);
        var tail = buffer[length..];

        With(KernelSettings.HardwareVectorWidth, threads, () => ElementWise.Clear(buffer.AsSpan(0, length)));

        Assert.All(buffer[..length], value => Assert.Equal(0f, value));
        Assert.Equal(tail, buffer[length..]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Clear_allocates_nothing(int threads)
    {
        var buffer = new float[300_001];
        Assert.Equal(0, AllocatedBytes(() => With(KernelSettings.HardwareVectorWidth, threads, () => ElementWise.Clear(buffer))));
    }

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(2, 65_536)]
    [InlineData(1, 300_001)]
    [InlineData(2, 300_001)]
    public void ChunkedSumOfSquares_adds_the_chunks_sums_in_order_on_any_thread_count(int threads, int length)
    {
        var x = RandomArray(length, 7);
        var expected = 0.0;
        With(KernelSettings.HardwareVectorWidth, 1, () =>
        {
            for (var start = 0; start < length; start += ElementWise.SquaresChunk)
            {
                expected += ElementWise.SumOfSquares(x.AsSpan(start, Math.Min(ElementWise.SquaresChunk, length - start)));
            }
        });

        var actual = 0.0;
        With(KernelSettings.HardwareVectorWidth, threads, () => actual = ElementWise.ChunkedSumOfSquares(x));

        Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(actual));
    }
}
