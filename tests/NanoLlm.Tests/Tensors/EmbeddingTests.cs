using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>The gather is a copy and the scatter-add sums rows in order, so both equal their twins bit for bit.</summary>
public sealed class EmbeddingTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            foreach (var cols in new[] { 1, 3, 7, 17, 65, 129 })
            {
                data.Add(width, cols);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_gathers_rows_and_backward_adds_into_them_in_order(int width, int cols)
    {
        const int vocab = 5, rows = 17;
        var table = RandomArray(vocab * cols, 1);
        var tokens = RandomTokens(rows, vocab, 2);
        var dy = RandomArray(rows * cols, 3);
        var (y, dtable) = (new float[rows * cols], RandomArray(vocab * cols, 4));
        var expectedGradient = (float[])dtable.Clone();
        With(width, 1, () =>
        {
            Embedding.Forward(y, table, tokens, cols);
            Embedding.Backward(dtable, dy, tokens, cols);
        });

        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                Assert.Equal(table[(tokens[r] * cols) + c], y[(r * cols) + c]);
                expectedGradient[(tokens[r] * cols) + c] += dy[(r * cols) + c];
            }
        }
        Assert.Equal(expectedGradient, dtable);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Backward_on_threads_adds_repeated_tokens_rows_in_order(int threads)
    {
        const int vocab = 11, rows = 700, cols = 203;
        var tokens = RandomTokens(rows, vocab, 7);
        var dy = RandomArray(rows * cols, 8);
        var dtable = RandomArray(vocab * cols, 9);
        var expected = (float[])dtable.Clone();
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                expected[(tokens[r] * cols) + c] += dy[(r * cols) + c];
            }
        }

        With(KernelSettings.HardwareVectorWidth, threads, () => Embedding.Backward(dtable, dy, tokens, cols));

        AssertBitIdentical(expected, dtable);
    }

    [Fact]
    public void Backward_rejects_a_token_outside_the_table_before_adding_anything()
    {
        var dtable = new float[6];
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward(dtable, [1f, 1f, 1f, 1f], [0, 3], 2));
        Assert.All(dtable, value => Assert.Equal(0f, value));
    }

    [Fact]
    public void Rejects_a_token_outside_the_table()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward(new float[2], new float[6], [3], 2));
    }

    [Fact]
    public void A_call_allocates_nothing()
    {
        var (table, tokens, y) = (RandomArray(50 * 16, 5), RandomTokens(64, 50, 6), new float[64 * 16]);
        Assert.Equal(0, AllocatedBytes(() =>
        {
            Embedding.Forward(y, table, tokens, 16);
            Embedding.Backward(table, y, tokens, 16);
        }));
    }
}
