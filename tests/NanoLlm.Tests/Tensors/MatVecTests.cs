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
