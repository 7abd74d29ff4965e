using NanoLlm.Model.Layers;

namespace NanoLlm.Model;

/// <summary>What the GPT lets a reader see of its last forward pass: attention weights, logits, activation statistics.</summary>
public sealed partial class GptModel : IAttentionInspection, IActivationInspection
{
    public int AttentionLayers => _blocks.Length;

    /// <summary>The blocks, bottom first (a benchmark times one block's layers on the model's own shapes).</summary>
    internal IReadOnlyList<TransformerBlock> Blocks => _blocks;

    public int AttentionHeads => _blocks[0].Attention.Heads;

    public (int BatchSize, int Length) LastForwardShape => (_batchSize, _length);

    public ReadOnlySpan<float> AttentionWeights(int layer) => _blocks[layer].Attention.Probabilities(_batchSize, _length);

    /// <summary>
    /// Each block's feed-forward GELU output (<c>h.l.gelu</c>, with the GELU activation only: ReLU² and SwiGLU have no
    /// measure of their own yet) and attention weights (<c>h.l.attn</c>), in order.
    /// </summary>
    public IReadOnlyList<ActivationStatistics> MeasureActivations()
    {
        var statistics = new List<ActivationStatistics>(2 * _blocks.Length);
        for (var l = 0; l < _blocks.Length; l++)
        {
            var block = _blocks[l];
            if (block.FeedForward.Activation == Layers.Activation.Gelu)
            {
                statistics.Add(ActivationMeasures.Gelu($"h.{l}.gelu", block.FeedForward.PreActivation(_batchSize * _length)));
            }
            statistics.Add(ActivationMeasures.CausalAttention($"h.{l}.attn", AttentionWeights(l), _batchSize * AttentionHeads, _length));
        }
        return statistics;
    }
}
