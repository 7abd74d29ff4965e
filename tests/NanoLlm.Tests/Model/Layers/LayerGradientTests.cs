using NanoLlm.Model;
using NanoLlm.Model.Layers;

namespace NanoLlm.Tests.Model.Layers;

/// <summary>
/// Finite-difference checks of single layers: the scalar L = Σ y ⊙ R for a fixed random R makes dL/dy = R, so the
/// layer's backward, fed R, must give the numeric derivative of L with respect to every input and parameter.
/// Sums are in double and ε = 1e-3 (central differences), so the tolerance only has to cover float rounding of y.
/// </summary>
public sealed class LayerGradientTests
{
    private const double Epsilon = 1e-3;

    private static float[] RandomArray(int length, Random random) =>
        [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1))];

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }
        return sum;
    }

    private static void AssertClose(double numeric, float analytic, string what) =>
        Assert.True(Math.Abs(numeric - analytic) <= 1e-2 * Math.Max(1, Math.Abs(numeric)), $"{what}: analytic {analytic}, numeric {numeric}");

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 7, 5)]
    [InlineData(17, 9, 65)]
    public void Linear_backward_matches_finite_differences(int rows, int inputs, int outputs)
    {
        var random = new Random(rows * 100 + inputs);
        var parameters = new ParameterSet([new("w", [outputs, inputs], true), new("b", [outputs], false)]);
        RandomArray(parameters.Count, random).CopyTo(parameters.Values, 0);
        var (weight, bias) = (parameters["w"], parameters["b"]);
        var x = RandomArray(rows * inputs, random);
        var projection = RandomArray(rows * outputs, random);
        var y = new float[rows * outputs];
        double Loss()
        {
            Linear.Forward(y, x, weight, bias, rows);
            return Dot(y, projection);
        }

        var dx = new float[x.Length];
        Linear.Backward(dx, weight, bias, projection, x, rows);

        for (var i = 0; i < parameters.Count; i += Math.Max(1, parameters.Count / 40))
        {
            var original = parameters.Values[i];
            parameters.Values[i] = (float)(original + Epsilon);
            var plus = Loss();
            parameters.Values[i] = (float)(original - Epsilon);
            var minus = Loss();
            parameters.Values[i] = original;
            AssertClose((plus - minus) / (2 * Epsilon), parameters.Grads[i], $"parameter {i}");
        }
        for (var i = 0; i < x.Length; i += Math.Max(1, x.Length / 40))
        {
            var original = x[i];
            x[i] = (float)(original + Epsilon);
            var plus = Loss();
            x[i] = (float)(original - Epsilon);
            var minus = Loss();
            x[i] = original;
            AssertClose((plus - minus) / (2 * Epsilon), dx[i], $"x[{i}]");
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 65)]
    [InlineData(128, 384)]
    public void The_single_row_form_matches_a_one_row_forward(int inputs, int outputs)
    {
        var random = new Random(inputs + outputs);
        var parameters = new ParameterSet([new("w", [outputs, inputs], true), new("b", [outputs], false)]);
        RandomArray(parameters.Count, random).CopyTo(parameters.Values, 0);
        var x = RandomArray(inputs, random);
        var (expected, actual) = (new float[outputs], new float[outputs]);

        Linear.Forward(expected, x, parameters["w"], parameters["b"], 1);
        Linear.ForwardRow(actual, x, parameters["w"], parameters["b"]);

        // The same sums in another order: float rounding of K terms of size ~1.
        Assert.All(Enumerable.Range(0, outputs), j => Assert.Equal(expected[j], actual[j], 1e-4f * inputs));
    }

    [Fact]
    public void Context_embedding_backward_matches_finite_differences()
    {
        const int vocabSize = 5, c = 3, contextLength = 3, batchSize = 2, length = 4;
        var random = new Random(11);
        var parameters = new ParameterSet([new("e", [vocabSize + 1, c], false)]);
        RandomArray(parameters.Count, random).CopyTo(parameters.Values, 0);
        var table = parameters["e"];
        int[] inputs = [0, 1, 2, 3, 4, 4, 1, 0];
        var contexts = new int[batchSize * length * contextLength];
        ContextEmbedding.Contexts(contexts, inputs, batchSize, length, contextLength, paddingToken: vocabSize);
        var projection = RandomArray(contexts.Length * c, random);
        var x = new float[contexts.Length * c];
        double Loss()
        {
            ContextEmbedding.Forward(x, table, contexts);
            return Dot(x, projection);
        }

        ContextEmbedding.Backward(table, projection, contexts);

        for (var i = 0; i < parameters.Count; i++)
        {
            var original = parameters.Values[i];
            parameters.Values[i] = (float)(original + Epsilon);
            var plus = Loss();
            parameters.Values[i] = (float)(original - Epsilon);
            var minus = Loss();
            parameters.Values[i] = original;
            AssertClose((plus - minus) / (2 * Epsilon), parameters.Grads[i], $"table[{i}]");
        }
    }

    [Fact]
    public void Contexts_concatenate_the_last_N_tokens_with_padding_before_the_window()
    {
        var contexts = new int[2 * 3 * 2];

        ContextEmbedding.Contexts(contexts, [7, 8, 9, 1, 2, 3], batchSize: 2, length: 3, contextLength: 2, paddingToken: 10);

        Assert.Equal([10, 7, 7, 8, 8, 9, 10, 1, 1, 2, 2, 3], contexts);
    }
}
