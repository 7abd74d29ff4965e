using NanoLlm.Model;
using NanoLlm.Model.Layers;

namespace NanoLlm.Tests.Model.Layers;

/// <summary>
/// Finite-difference checks of the transformer's layers, as in <see cref="LayerGradientTests"/>: L = Σ y ⊙ R for a
/// fixed random R, so backward fed R must give ∂L/∂x and ∂L/∂θ. Sums in double, central differences with ε = 1e-3;
/// the relative tolerance of 1e-2 covers float rounding of y, which ε amplifies by 1/2ε. Outputs of thousands of
/// floats round more in sum, so large shapes use ε = 1e-2 (attention is smooth: the O(ε²) error stays far smaller).
/// </summary>
public sealed class TransformerLayerGradientTests
{
    private const double Epsilon = 1e-3;

    private static float[] RandomArray(int length, Random random, double scale = 1) =>
        [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale))];

    private static ParameterSet RandomParameters(IEnumerable<ParameterSpec> specs, Random random)
    {
        var parameters = new ParameterSet([.. specs]);
        RandomArray(parameters.Count, random, 0.5).CopyTo(parameters.Values, 0);
        return parameters;
    }

    /// <summary>Checks backward against central differences on every parameter and input (or a spread sample of them).</summary>
    private static void Check(ParameterSet parameters, float[] x, int outputLength, Action<float[]> forward, Action<float[], float[]> backward, Random random)
    {
        var epsilon = outputLength > 1000 ? 10 * Epsilon : Epsilon;
        var projection = RandomArray(outputLength, random);
        var y = new float[outputLength];
        double Loss()
        {
            forward(y);
            double sum = 0;
            for (var i = 0; i < y.Length; i++)
            {
                sum += (double)y[i] * projection[i];
            }
            return sum;
        }

        Loss();
        parameters.ZeroGrads();
        var dx = new float[x.Length];
        backward(projection, dx);
        var parameterGrads = (float[])parameters.Grads.Clone();

        void CheckOne(float[] values, int i, float analytic, string what)
        {
            var original = values[i];
            values[i] = (float)(original + epsilon);
            var plus = Loss();
            values[i] = (float)(original - epsilon);
            var minus = Loss();
            values[i] = original;
            var numeric = (plus - minus) / (2 * epsilon);
            Assert.True(Math.Abs(numeric - analytic) <= 1e-2 * Math.Max(1, Math.Abs(numeric)), $"{what}: analytic {analytic}, numeric {numeric}");
        }
        for (var i = 0; i < parameters.Count; i += Math.Max(1, parameters.Count / 150))
        {
            var parameter = parameters.Parameters.Last(p => p.Offset <= i);
            CheckOne(parameters.Values, i, parameterGrads[i], $"{parameter.Name}[{i - parameter.Offset}]");
        }
        for (var i = 0; i < x.Length; i += Math.Max(1, x.Length / 100))
        {
            CheckOne(x, i, dx[i], $"x[{i}]");
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 65)]
    public void Layer_normalization_backward_matches_finite_differences(int rows, int channels)
    {
        var random = new Random(rows + channels);
        var parameters = RandomParameters(LayerNormalization.Specs("ln", channels), random);
        var layer = new LayerNormalization(parameters, "ln");
        layer.EnsureCapacity(rows);
        var x = RandomArray(rows * channels, random, 2);

        Check(parameters, x, x.Length, y => layer.Forward(y, x, rows), (dy, dx) => layer.Backward(dx, dy, x, rows), random);
    }

    [Fact]
    public void Feed_forward_backward_matches_finite_differences_through_gelu()
    {
        const int rows = 6, channels = 5, hidden = 20;
        var random = new Random(2);
        var parameters = RandomParameters(FeedForward.Specs("mlp", channels, hidden), random);
        var layer = new FeedForward(parameters, "mlp");
        layer.EnsureCapacity(rows);
        var x = RandomArray(rows * channels, random);

        Check(parameters, x, rows * channels, y => layer.Forward(y, x, rows), (dy, dx) => layer.Backward(dx, dy, x, rows), random);
    }

    [Theory]
    [InlineData(1, 1, 4, 1)]
    [InlineData(2, 5, 8, 2)]
    [InlineData(3, 7, 12, 3)]
    [InlineData(2, 40, 64, 4)]
    public void Attention_backward_matches_finite_differences_with_the_causal_mask(int batchSize, int length, int channels, int heads)
    {
        var random = new Random(batchSize * 10 + length);
        var parameters = RandomParameters(CausalSelfAttention.Specs("attn", channels), random);
        var layer = new CausalSelfAttention(parameters, "attn", heads);
        layer.EnsureCapacity(batchSize, length);
        var x = RandomArray(batchSize * length * channels, random);

        Check(parameters, x, x.Length, y => layer.Forward(y, x, batchSize, length), (dy, dx) => layer.Backward(dx, dy, x, batchSize, length), random);
    }

    [Fact]
    public void Transformer_block_backward_matches_finite_differences()
    {
        const int batchSize = 2, length = 4, channels = 8, heads = 2;
        var random = new Random(5);
        var parameters = RandomParameters(TransformerBlock.Specs("h.0", channels, 4 * channels), random);
        var block = new TransformerBlock(parameters, "h.0", heads);
        block.EnsureCapacity(batchSize, length);
        var x = RandomArray(batchSize * length * channels, random);

        Check(
            parameters, x, x.Length,
            y => block.Forward(y, x, batchSize, length),
            (dy, dx) =>
            {
                dy.CopyTo(dx, 0);
                block.Backward(dx, x, batchSize, length);
            },
            random);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 65)]
    public void Rms_normalization_backward_matches_finite_differences(int rows, int channels)
    {
        var random = new Random(rows + channels);
        var parameters = RandomParameters(RmsNormalization.Specs("ln", channels), random);
        var layer = new RmsNormalization(parameters, "ln");
        layer.EnsureCapacity(rows);
        var x = RandomArray(rows * channels, random, 2);

        Check(parameters, x, x.Length, y => layer.Forward(y, x, rows), (dy, dx) => layer.Backward(dx, dy, x, rows), random);
    }

    [Theory]
    [InlineData(Activation.SwiGlu)]
    [InlineData(Activation.ReluSquared)]
    public void Feed_forward_backward_matches_finite_differences_through_each_activation(Activation activation)
    {
        const int rows = 6, channels = 5, hidden = 13;
        var random = new Random(3);
        var parameters = RandomParameters(FeedForward.Specs("mlp", channels, hidden, activation), random);
        var layer = new FeedForward(parameters, "mlp", activation: activation);
        layer.EnsureCapacity(rows);
        var x = RandomArray(rows * channels, random);

        Check(parameters, x, rows * channels, y => layer.Forward(y, x, rows), (dy, dx) => layer.Backward(dx, dy, x, rows), random);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Attention_backward_matches_finite_differences_with_qk_norm_and_rotary_positions(bool queryKeyNorm, bool rotary)
    {
        const int batchSize = 2, length = 7, channels = 12, heads = 3;
        var random = new Random(11);
        var parameters = RandomParameters(CausalSelfAttention.Specs("attn", channels), random);
        var layer = new CausalSelfAttention(parameters, "attn", heads, queryKeyNorm: queryKeyNorm, rotary: rotary ? new RotaryEmbedding(length, channels / heads, 100) : null);
        layer.EnsureCapacity(batchSize, length);
        var x = RandomArray(batchSize * length * channels, random);

        Check(parameters, x, x.Length, y => layer.Forward(y, x, batchSize, length), (dy, dx) => layer.Backward(dx, dy, x, batchSize, length), random);
    }

    [Fact]
    public void Attention_backward_matches_finite_differences_through_dropped_attention_weights()
    {
        const int batchSize = 2, length = 5, channels = 8, heads = 2;
        var random = new Random(12);
        var parameters = RandomParameters(CausalSelfAttention.Specs("attn", channels), random);
        var layer = new CausalSelfAttention(parameters, "attn", heads, dropout: 0.4f);
        layer.EnsureCapacity(batchSize, length);
        var x = RandomArray(batchSize * length * channels, random);

        // The same seed and stream every pass: the same mask while the differences are taken.
        Check(
            parameters, x, x.Length, y => layer.Forward(y, x, batchSize, length, training: true, seed: 3, stream: 9),
            (dy, dx) => layer.Backward(dx, dy, x, batchSize, length), random);
    }

    [Fact]
    public void Transformer_block_backward_matches_finite_differences_with_every_option()
    {
        const int batchSize = 2, length = 4, channels = 8, heads = 2;
        var random = new Random(6);
        var options = new BlockOptions(NormalizationKind.RmsNorm, Activation.SwiGlu, new RotaryEmbedding(length, channels / heads), QueryKeyNorm: true);
        var parameters = RandomParameters(TransformerBlock.Specs("h.0", channels, 3 * channels, options), random);
        var block = new TransformerBlock(parameters, "h.0", heads, options: options);
        block.EnsureCapacity(batchSize, length);
        var x = RandomArray(batchSize * length * channels, random);

        Check(
            parameters, x, x.Length,
            y => block.Forward(y, x, batchSize, length),
            (dy, dx) =>
            {
                dy.CopyTo(dx, 0);
                block.Backward(dx, x, batchSize, length);
            },
            random);
    }

    [Fact]
    public void A_future_position_never_changes_an_earlier_attention_output()
    {
        const int length = 6, channels = 8;
        var random = new Random(9);
        var parameters = RandomParameters(CausalSelfAttention.Specs("attn", channels), random);
        var layer = new CausalSelfAttention(parameters, "attn", heads: 2);
        layer.EnsureCapacity(1, length);
        var x = RandomArray(length * channels, random);
        var before = new float[x.Length];
        layer.Forward(before, x, 1, length);

        x[(4 * channels) + 3] += 1f;
        var after = new float[x.Length];
        layer.Forward(after, x, 1, length);

        Assert.Equal(before.AsSpan(0, 4 * channels).ToArray(), after.AsSpan(0, 4 * channels).ToArray());
        Assert.NotEqual(before.AsSpan(4 * channels).ToArray(), after.AsSpan(4 * channels).ToArray());
    }
}
