using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>A row-wise normalization with learned parameters: <see cref="LayerNormalization"/> or <see cref="RmsNormalization"/>.</summary>
public interface INormalization
{
    /// <summary>The gain at 1 (and a shift at 0): the layer starts as a plain normalization.</summary>
    void Initialize();

    void EnsureCapacity(int rows);

    void Forward(Span<float> y, ReadOnlySpan<float> x, int rows);

    /// <summary>
    /// <paramref name="sum"/> = <paramref name="a"/> + <paramref name="b"/> (a residual addition), then
    /// <see cref="Forward"/> of the sum into <paramref name="y"/>; a normalization may do both in one pass.
    /// </summary>
    void AddForward(Span<float> sum, Span<float> y, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int rows)
    {
        ElementWise.Add(sum, a, b);
        Forward(y, sum, rows);
    }

    /// <summary>One row at inference, keeping nothing for a backward pass.</summary>
    void ForwardOne(Span<float> y, ReadOnlySpan<float> x);

    /// <summary>Accumulates ∂L/∂x into <paramref name="dx"/> and the parameters' gradients.</summary>
    void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows);
}

/// <summary>Which normalization the GPT's blocks and final layer use: the <c>norm</c> key.</summary>
public enum NormalizationKind
{
    LayerNorm,
    RmsNorm,
}

/// <summary>Builds the normalization a <see cref="NormalizationKind"/> names, and its parameters' specs.</summary>
public static class Normalization
{
    public static IEnumerable<ParameterSpec> Specs(NormalizationKind kind, string prefix, int channels) =>
        kind == NormalizationKind.RmsNorm ? RmsNormalization.Specs(prefix, channels) : LayerNormalization.Specs(prefix, channels);

    public static INormalization Create(NormalizationKind kind, ParameterSet parameters, string prefix) =>
        kind == NormalizationKind.RmsNorm ? new RmsNormalization(parameters, prefix) : new LayerNormalization(parameters, prefix);
}
