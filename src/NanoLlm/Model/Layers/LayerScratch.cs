namespace NanoLlm.Model.Layers;

/// <summary>
/// Buffers a layer needs only while one of its own Forward or Backward calls runs: a block's branch output, the
/// gradients flowing back through a layer, activations recomputed for the backward pass. The blocks of a model run
/// one after another, so they all share one set (as llm.c shares its gradient activations): these buffers cost one
/// block's worth of memory, not one per block. What the backward pass needs from the forward pass stays in each layer.
/// </summary>
public sealed class LayerScratch
{
    private readonly float[][] _buffers = [.. Enumerable.Repeat(Array.Empty<float>(), Enum.GetValues<ScratchBuffer>().Length)];

    /// <summary>Grows <paramref name="buffer"/> to at least <paramref name="length"/> floats (never shrinks it).</summary>
    public void Reserve(ScratchBuffer buffer, int length)
    {
        if (_buffers[(int)buffer].Length < length)
        {
            _buffers[(int)buffer] = new float[length];
        }
    }

    /// <summary>The first <paramref name="length"/> floats of <paramref name="buffer"/>, which must have been reserved.</summary>
    public Span<float> Get(ScratchBuffer buffer, int length) => _buffers[(int)buffer].AsSpan(0, length);
}

/// <summary>The shared buffers of <see cref="LayerScratch"/>; two names never share memory.</summary>
public enum ScratchBuffer
{
    /// <summary>A block's LayerNorm output, the input of its attention or feed-forward branch; made again in Backward.</summary>
    NormOutput,

    /// <summary>A block's attention or feed-forward output before it joins the residual stream.</summary>
    BranchOutput,

    /// <summary>The gradient flowing into a block's LayerNorm from its branch.</summary>
    NormGrads,

    /// <summary>The residual gradient through a branch's dropout mask.</summary>
    BranchGrads,

    /// <summary>∂L/∂[q|k|v], [B·T, 3C].</summary>
    QkvGrads,

    /// <summary>∂L/∂(heads' outputs), [B·T, C].</summary>
    HeadOutputGrads,

    /// <summary>∂L/∂P, then ∂L/∂S in place, [B, H, T, T].</summary>
    ScoreGrads,

    /// <summary>The feed-forward GELU output: made in Forward, made again in Backward for c_proj's weight gradient.</summary>
    Activation,

    /// <summary>∂L/∂(GELU output), then ∂L/∂(GELU input) in place, [B·T, H].</summary>
    ActivationGrads,
}
