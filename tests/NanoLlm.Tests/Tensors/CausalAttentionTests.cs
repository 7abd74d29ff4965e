using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// The fused attention core against the unfused calls it replaces (<see cref="MatMul.Batched"/> for each full product,
/// <see cref="Softmax.CausalForward"/> and <see cref="Softmax.CausalBackward"/>), bit for bit, at every vector width,
/// on shapes that are not multiples of a vector or a tile, on one thread and two: skipping what the mask zeroes
/// changes no bit.
/// </summary>
public sealed class CausalAttentionTests
{
    public static TheoryData<int, int, int, int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int, int, int, int>();
        foreach (var width in (int[])[512, 256, 128, 0])
        {
            foreach (var threads in (int[])[1, 2])
            {
                // Lengths past one and two of Gemm's depth blocks (256) check where the masked products start.
                foreach (var (batches, heads, length, headSize) in new[] { (1, 1, 1, 1), (2, 3, 7, 5), (3, 2, 17, 16), (2, 4, 33, 8), (1, 2, 64, 32), (1, 1, 300, 8), (1, 1, 530, 3) })
                {
                    data.Add(width, threads, batches, heads, length, headSize);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_gives_the_bits_of_the_unfused_products_and_softmax(int width, int threads, int batches, int heads, int length, int headSize)
    {
        var (qkv, scale) = Inputs(batches, heads, length, headSize);
        var (expectedProbabilities, expectedOutput) = UnfusedForward(width, qkv, batches, heads, length, headSize, scale);
        var probabilities = RandomArray(expectedProbabilities.Length, 3);
        var output = RandomArray(expectedOutput.Length, 4);

        With(width, threads, () => CausalAttention.Forward(probabilities, output, qkv, batches, heads, length, headSize, scale));

        AssertBitIdentical(expectedProbabilities, probabilities);
        AssertBitIdentical(expectedOutput, output);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_gives_the_bits_of_the_unfused_products_and_softmax(int width, int threads, int batches, int heads, int length, int headSize)
    {
        var (qkv, scale) = Inputs(batches, heads, length, headSize);
        var (probabilities, _) = UnfusedForward(width, qkv, batches, heads, length, headSize, scale);
        var outputGrads = RandomArray(batches * length * heads * headSize, 5);
        var (expectedQkvGrads, expectedScoreGrads) = UnfusedBackward(width, qkv, probabilities, outputGrads, batches, heads, length, headSize, scale);
        var qkvGrads = RandomArray(expectedQkvGrads.Length, 6);
        var scoreGrads = RandomArray(expectedScoreGrads.Length, 7);

        With(width, threads, () => CausalAttention.Backward(qkvGrads, scoreGrads, outputGrads, qkv, probabilities, batches, heads, length, headSize, scale));

        AssertBitIdentical(expectedQkvGrads, qkvGrads);
        AssertBitIdentical(expectedScoreGrads, scoreGrads);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_call_allocates_nothing(int threads)
    {
        const int batches = 4, heads = 4, length = 32, headSize = 16;
        var (qkv, scale) = Inputs(batches, heads, length, headSize);
        var probabilities = new float[batches * heads * length * length];
        var scoreGrads = new float[probabilities.Length];
        var output = new float[batches * length * heads * headSize];
        var qkvGrads = new float[qkv.Length];
        Assert.Equal(0, AllocatedBytes(() => With(KernelSettings.HardwareVectorWidth, threads, () =>
        {
            CausalAttention.Forward(probabilities, output, qkv, batches, heads, length, headSize, scale);
            CausalAttention.Backward(qkvGrads, scoreGrads, output, qkv, probabilities, batches, heads, length, headSize, scale);
        })));
    }

    [Fact]
    public void Spans_shorter_than_the_shape_are_rejected()
    {
        var qkv = new float[2 * 3 * 12];
        var error = Assert.Throws<ArgumentException>(() => CausalAttention.Forward(new float[2 * 2 * 3 * 3], new float[2 * 3 * 4 - 1], qkv, 2, 2, 3, 2, 1f));
        Assert.Contains("output", error.Message, StringComparison.Ordinal);
    }

    private static (float[] Qkv, float Scale) Inputs(int batches, int heads, int length, int headSize) =>
        (RandomArray(batches * length * 3 * heads * headSize, 1, 2f), 1f / MathF.Sqrt(headSize));

    private static (MatrixLayout Qkv, MatrixLayout Square, MatrixLayout Heads) Layouts(int heads, int length, int headSize)
    {
        var c = heads * headSize;
        return (
            new MatrixLayout(RowStride: 3 * c, BatchStride: length * 3 * c, HeadStride: headSize),
            new MatrixLayout(RowStride: length, BatchStride: heads * length * length, HeadStride: length * length),
            new MatrixLayout(RowStride: c, BatchStride: length * c, HeadStride: headSize));
    }

    private static (float[] Probabilities, float[] Output) UnfusedForward(int width, float[] qkv, int batches, int heads, int length, int headSize, float scale)
    {
        var (c, t) = (heads * headSize, length);
        var (qkvLayout, square, headLayout) = Layouts(heads, length, headSize);
        var probabilities = new float[batches * heads * t * t];
        var output = new float[batches * t * c];
        With(width, 1, () =>
        {
            MatMul.Batched(probabilities, square, qkv, qkvLayout, qkv.AsSpan(c), qkvLayout with { Transposed = true }, batches, heads, t, headSize, t, scale);
            Softmax.CausalForward(probabilities, batches * heads, t);
            MatMul.Batched(output, headLayout, probabilities, square, qkv.AsSpan(2 * c), qkvLayout, batches, heads, t, t, headSize);
        });
        return (probabilities, output);
    }

    private static (float[] QkvGrads, float[] ScoreGrads) UnfusedBackward(
        int width, float[] qkv, float[] probabilities, float[] outputGrads, int batches, int heads, int length, int headSize, float scale)
    {
        var (c, t) = (heads * headSize, length);
        var (qkvLayout, square, headLayout) = Layouts(heads, length, headSize);
        var transposedSquare = square with { Transposed = true };
        var qkvGrads = new float[qkv.Length];
        var scoreGrads = new float[probabilities.Length];
        With(width, 1, () =>
        {
            MatMul.Batched(scoreGrads, square, outputGrads, headLayout, qkv.AsSpan(2 * c), qkvLayout with { Transposed = true }, batches, heads, t, headSize, t);
            MatMul.Batched(qkvGrads.AsSpan(2 * c), qkvLayout, probabilities, transposedSquare, outputGrads, headLayout, batches, heads, t, t, headSize);
            Softmax.CausalBackward(scoreGrads, probabilities, batches * heads, t);
            MatMul.Batched(qkvGrads, qkvLayout, scoreGrads, square, qkv.AsSpan(c), qkvLayout, batches, heads, t, t, headSize, scale);
            MatMul.Batched(qkvGrads.AsSpan(c), qkvLayout, scoreGrads, transposedSquare, qkv, qkvLayout, batches, heads, t, t, headSize, scale);
        });
        return (qkvGrads, scoreGrads);
    }
}
