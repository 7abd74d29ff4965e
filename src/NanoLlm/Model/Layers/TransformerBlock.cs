using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// One pre-norm transformer block (GPT-2, nanoGPT): <c>x₁ = x + Attention(LN₁(x))</c>, <c>y = x₁ + FFN(LN₂(x₁))</c>.
/// The residual additions let the gradient reach early blocks unchanged, so backward sums into one buffer in place.
/// <see cref="BlockOptions"/> pick the normalization, the feed-forward activation and the attention's options.
/// </summary>
public sealed class TransformerBlock
{
    // The attention weights' dropout stream, offset from the block's own: the model gives each block 2 consecutive
    // streams, so with fewer than 2¹⁴ blocks no two sites of a batch share a stream.
    private const long AttentionWeightsStream = 1L << 15;

    private readonly int _channels;
    private readonly LayerScratch _scratch;
    private float[] _afterAttention = [];
    private readonly Dropout _attentionDropout;
    private readonly Dropout _feedForwardDropout;

    /// <param name="dropout">The rate of dropout on each branch's output in training.</param>
    /// <param name="scratch">Shared by all blocks of a model (they run one at a time); a block of its own without one.</param>
    public TransformerBlock(ParameterSet parameters, string prefix, int heads, float dropout = 0f, LayerScratch? scratch = null, BlockOptions? options = null)
    {
        options ??= new BlockOptions();
        _scratch = scratch ?? new LayerScratch();
        _attentionDropout = new Dropout(dropout);
        _feedForwardDropout = new Dropout(dropout);
        FirstNorm = Normalization.Create(options.Norm, parameters, $"{prefix}.ln_1");
        Attention = new CausalSelfAttention(parameters, $"{prefix}.attn", heads, _scratch, options.QueryKeyNorm, options.Rotary, options.AttentionDropout);
        SecondNorm = Normalization.Create(options.Norm, parameters, $"{prefix}.ln_2");
        FeedForward = new FeedForward(parameters, $"{prefix}.mlp", _scratch, options.Activation);
        _channels = Attention.OutputProjection.Shape[0];
    }

    /// <param name="feedForwardSize">The width of the feed-forward activation (see <see cref="Layers.FeedForward.Specs"/>).</param>
    public static IEnumerable<ParameterSpec> Specs(string prefix, int channels, int feedForwardSize, BlockOptions? options = null)
    {
        options ??= new BlockOptions();
        return
        [
            .. Normalization.Specs(options.Norm, $"{prefix}.ln_1", channels),
            .. CausalSelfAttention.Specs($"{prefix}.attn", channels),
            .. Normalization.Specs(options.Norm, $"{prefix}.ln_2", channels),
            .. FeedForward.Specs($"{prefix}.mlp", channels, feedForwardSize, options.Activation),
        ];
    }

    public INormalization FirstNorm { get; }

    public CausalSelfAttention Attention { get; }

    public INormalization SecondNorm { get; }

    public FeedForward FeedForward { get; }

    public void EnsureCapacity(int batchSize, int length)
    {
        var rows = batchSize * length;
        FirstNorm.EnsureCapacity(rows);
        Attention.EnsureCapacity(batchSize, length);
        SecondNorm.EnsureCapacity(rows);
        FeedForward.EnsureCapacity(rows);
        if (_afterAttention.Length < rows * _channels)
        {
            _afterAttention = new float[rows * _channels];
        }
        _scratch.Reserve(ScratchBuffer.NormOutput, rows * _channels);
        _scratch.Reserve(ScratchBuffer.BranchOutput, rows * _channels);
        _scratch.Reserve(ScratchBuffer.NormGrads, rows * _channels);
        if (_attentionDropout.Rate > 0)
        {
            _scratch.Reserve(ScratchBuffer.BranchGrads, rows * _channels);
        }
    }

    // x₁ = x + Dropout(Attention(LN₁(x)));  y = x₁ + Dropout(FFN(LN₂(x₁)))   (dropout only in training)
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int batchSize, int length, bool training = false, int seed = 0, long stream = 0)
    {
        var size = batchSize * length * _channels;
        var rows = batchSize * length;
        var normalized = _scratch.Get(ScratchBuffer.NormOutput, size);
        var branch = _scratch.Get(ScratchBuffer.BranchOutput, size);
        var afterAttention = _afterAttention.AsSpan(0, size);

        FirstNorm.Forward(normalized, x, rows);
        Attention.Forward(branch, normalized, batchSize, length, training, seed, stream + AttentionWeightsStream);
        _attentionDropout.Forward(branch, training, seed, stream);
        SecondNorm.AddForward(afterAttention, normalized, x[..size], branch, rows);
        FeedForward.Forward(branch, normalized, rows);
        _feedForwardDropout.Forward(branch, training, seed, stream + 1);
        ElementWise.Add(y[..size], afterAttention, branch);
    }

    /// <summary>
    /// On entry <paramref name="residualGrads"/> holds ∂L/∂y; on return ∂L/∂x. Each branch's gradient is added to
    /// the residual one, which is the identity's gradient. The LayerNorm outputs the branches read are made again
    /// from x and x₁ (a row-wise pass, cheap next to the branches' matrix products) instead of being kept per block.
    /// </summary>
    public void Backward(Span<float> residualGrads, ReadOnlySpan<float> x, int batchSize, int length)
    {
        var size = batchSize * length * _channels;
        var rows = batchSize * length;
        var normalized = _scratch.Get(ScratchBuffer.NormOutput, size);
        var normGrads = _scratch.Get(ScratchBuffer.NormGrads, size);

        SecondNorm.Forward(normalized, _afterAttention, rows);
        FeedForward.Backward(normGrads, BranchGrads(_feedForwardDropout, residualGrads), normalized, rows, accumulate: false);
        SecondNorm.Backward(residualGrads, normGrads, _afterAttention, rows);
        FirstNorm.Forward(normalized, x, rows);
        Attention.Backward(normGrads, BranchGrads(_attentionDropout, residualGrads), normalized, batchSize, length, accumulate: false);
        FirstNorm.Backward(residualGrads, normGrads, x, rows);
    }

    // A branch's output gradient is the residual gradient through the branch's dropout mask (none without dropout).
    private ReadOnlySpan<float> BranchGrads(Dropout dropout, ReadOnlySpan<float> residualGrads)
    {
        if (dropout.Rate == 0)
        {
            return residualGrads;
        }
        var grads = _scratch.Get(ScratchBuffer.BranchGrads, residualGrads.Length);
        residualGrads.CopyTo(grads);
        dropout.Backward(grads);
        return grads;
    }

    /// <summary>One position at inference; <paramref name="x"/> is updated in place to the block's output.</summary>
    public void ForwardOne(Span<float> x, KeyValueCache cache, int position, Span<float> scratch)
    {
        var c = _channels;
        var normalized = scratch[..c];
        var branch = scratch.Slice(c, c);
        var rest = scratch[(2 * c)..];
        FirstNorm.ForwardOne(normalized, x);
        Attention.ForwardOne(branch, normalized, cache, position, rest);
        ElementWise.Add(x, branch);
        SecondNorm.ForwardOne(normalized, x);
        FeedForward.ForwardOne(branch, normalized, rest);
        ElementWise.Add(x, branch);
    }

    /// <summary>Scratch floats <see cref="ForwardOne"/> needs for a cache of <paramref name="capacity"/> positions.</summary>
    public int ScratchSize(int capacity) =>
        (2 * _channels) + Math.Max(Attention.ScratchSize(capacity), FeedForward.ScratchSize);
}

/// <summary>The architecture options of a <see cref="TransformerBlock"/>; the defaults are GPT-2's block.</summary>
/// <param name="Rotary">Rotary position embeddings for the attention's queries and keys; null: none.</param>
/// <param name="QueryKeyNorm">RMS-normalize each head's query and key before their dot products.</param>
/// <param name="AttentionDropout">The rate of dropout on the attention weights in training.</param>
public sealed record BlockOptions(
    NormalizationKind Norm = NormalizationKind.LayerNorm, Activation Activation = Activation.Gelu, RotaryEmbedding? Rotary = null,
    bool QueryKeyNorm = false, float AttentionDropout = 0f);
