using NanoLlm.Model;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/05-transformer-block.md.</summary>
public sealed class TransformerBlockExercises
{
    private const int C = 64;

    [Fact]
    public void Layer_norm_gives_the_same_row_at_any_scale_and_offset()
    {
        var random = new Random(5);
        var row = Enumerable.Range(0, C).Select(_ => (float)random.NextDouble()).ToArray();
        var stretched = row.Select(v => (v * 1000) + 500).ToArray();
        var (gamma, beta) = (Enumerable.Repeat(1f, C).ToArray(), new float[C]);
        var (y, yStretched) = (new float[C], new float[C]);

        LayerNorm.Forward(y, new float[1], new float[1], row, gamma, beta, 1, C);
        LayerNorm.Forward(yStretched, new float[1], new float[1], stretched, gamma, beta, 1, C);

        Assert.Equal(0, y.Average(), 5);
        Assert.Equal(1, y.Select(v => v * v).Average(), 3);
        for (var i = 0; i < C; i++)
        {
            Assert.Equal(y[i], yStretched[i], 2);
        }
    }

    [Fact]
    public void With_silent_branches_a_block_passes_its_input_and_gradient_through()
    {
        const int batchSize = 2, length = 5, size = batchSize * length * C;
        var parameters = new ParameterSet([.. TransformerBlock.Specs("h.0", C, 4 * C)]);
        var random = new Random(7);
        foreach (ref var value in parameters.Values.AsSpan())
        {
            value = (float)(random.NextDouble() - 0.5);
        }
        foreach (var parameter in parameters.Parameters.Where(p => p.Name.Contains("c_proj", StringComparison.Ordinal)))
        {
            parameter.Values.Clear();
        }
        var block = new TransformerBlock(parameters, "h.0", heads: 4);
        block.EnsureCapacity(batchSize, length);
        var x = Enumerable.Range(0, size).Select(_ => (float)random.NextDouble()).ToArray();
        var y = new float[size];

        block.Forward(y, x, batchSize, length);
        var incoming = Enumerable.Range(0, size).Select(_ => (float)random.NextDouble()).ToArray();
        var gradient = (float[])incoming.Clone();
        block.Backward(gradient, x, batchSize, length);

        Assert.Equal(x, y);
        Assert.Equal(incoming, gradient);
    }

    [Fact]
    public void A_block_has_12_C_squared_plus_13_C_parameters()
    {
        var parameters = new ParameterSet([.. TransformerBlock.Specs("h.0", C, 4 * C)]);

        Assert.Equal((12 * C * C) + (13 * C), parameters.Count);
        Assert.Equal(49_984, parameters.Count);
    }
}
