using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

public sealed class MatVecTests
{
    [Theory]
    [MemberData(nameof(KernelTestData.RowShapes), MemberType = typeof(KernelTestData))]
    public void Forward_matches_naive_on_odd_shapes(int width, int outputs, int inputs)
    {
        var (w, x, b) = (RandomArray(outputs * inputs, 1), RandomArray(inputs, 2), RandomArray(outputs, 3));
        var y = new float[outputs];

        With(width, 1, () => MatVec.Forward(y, x, w, b, outputs, inputs));

        var expected = Enumerable.Range(0, outputs).Select(j => b[j] + Enumerable.Range(0, inputs).Sum(k => (double)w[(j * inputs) + k] * x[k])).ToArray();
        AssertClose(expected, y, i => 1e-5 * (1 + inputs), "y");
    }

    // (width, outputs, inputs): row counts that leave 1 to 3 rows after the groups of four, inputs below, at and past
    // the 64-float steps with every tail, and shapes large enough to split across up to 3 threads at odd rows.
    public static TheoryData<int, int, int> ProductShapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            foreach (var (outputs, inputs) in new[] { (1, 64), (3, 65), (5, 16), (6, 63), (7, 129), (9, 200), (13, 97), (1001, 300), (517, 769), (203, 1000) })
            {
                data.Add(width, outputs, inputs);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ProductShapes))]
    public void Each_output_is_its_rows_dot_product_to_the_bit_at_every_thread_count(int width, int outputs, int inputs)
    {
        var (w, x, b) = (RandomArray(outputs * inputs, 6), RandomArray(inputs, 7), RandomArray(outputs, 8));
        var used = Math.Min(width, KernelSettings.HardwareVectorWidth);
        var expected = Enumerable.Range(0, outputs).Select(j => VectorLoops.Dot(used, x, w.AsSpan(j * inputs, inputs)) + b[j]).ToArray();

        foreach (var threads in new[] { 1, 2, 3 })
        {
            var y = new float[outputs];
            With(width, threads, () => MatVec.Forward(y, x, w, b, outputs, inputs));
            AssertBitIdentical(expected, y);
        }
    }

    [Fact]
    public void Two_threads_give_the_bits_of_one_and_no_bias_adds_nothing()
    {
        var (outputs, inputs) = (1001, 300);
        var (w, x) = (RandomArray(outputs * inputs, 4), RandomArray(inputs, 5));
        var (one, two) = (new float[outputs], new float[outputs]);

        With(KernelSettings.HardwareVectorWidth, 1, () => MatVec.Forward(one, x, w, [], outputs, inputs));
        With(KernelSettings.HardwareVectorWidth, 2, () => MatVec.Forward(two, x, w, [], outputs, inputs));

        AssertBitIdentical(one, two);
        Assert.Equal(Enumerable.Range(0, inputs).Sum(k => (double)w[k] * x[k]), one[0], 1e-3);
    }
}
