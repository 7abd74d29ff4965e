namespace NanoLlm.Model;

/// <summary>
/// A read-only look inside a model with attention, at what its last <see cref="ILanguageModel.Forward"/> computed:
/// each layer's attention weights and the logits. For explanations and pictures; training never reads it. It costs
/// nothing: backward keeps these buffers anyway.
/// </summary>
public interface IAttentionInspection
{
    int AttentionLayers { get; }

    int AttentionHeads { get; }

    /// <summary>Batch and length (B, T) of the last forward, the shape of what the other members return.</summary>
    (int BatchSize, int Length) LastForwardShape { get; }

    /// <summary>
    /// <c>att[B, H, T, T]</c> of layer <paramref name="layer"/> in the last forward: row t is query t's softmax over
    /// keys 0..t, zeros after. Valid until the next forward.
    /// </summary>
    ReadOnlySpan<float> AttentionWeights(int layer);

    /// <summary><c>logits[B, T, V]</c> of the last forward. Valid until the next forward.</summary>
    ReadOnlySpan<float> Logits { get; }
}
