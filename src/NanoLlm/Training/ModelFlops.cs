using NanoLlm.Model;

namespace NanoLlm.Training;

/// <summary>
/// Model FLOPs utilization as nanoGPT's <c>estimate_mfu</c> counts it (after PaLM, appendix B): a training step costs
/// 6·N FLOP per token for the parameters' matrix products (2 forward, 4 backward), where N is
/// <c>get_num_params(non_embedding=True)</c>, plus 12·L·T·C for attention's QKᵀ and P·V over a length-T sequence.
/// The count is the model's, not the code's: work a kernel repeats or skips does not change it.
/// </summary>
public static class ModelFlops
{
    /// <summary>
    /// The parameters without the position embedding (<c>wpe</c>); the token embedding counts as the head when tied,
    /// and does not when a separate head does the product (its lookup is no FLOP).
    /// </summary>
    public static long NonEmbeddingParameters(ParameterSet parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        long count = parameters.Count;
        if (parameters.TryGet("wpe", out var positions))
        {
            count -= positions.Length;
        }
        if (parameters.TryGet("lm_head.weight", out _) && parameters.TryGet("wte", out var tokens))
        {
            count -= tokens.Length;
        }
        return count;
    }

    /// <summary>6·N + 12·L·T·C: forward and backward FLOPs for one token of a length-T sequence.</summary>
    public static double TrainingFlopsPerToken(long nonEmbeddingParameters, int layers, int length, int channels) =>
        (6.0 * nonEmbeddingParameters) + (12.0 * layers * length * channels);

    /// <summary>The fraction of the peak that a training speed uses.</summary>
    public static double Utilization(double flopsPerToken, double tokensPerSecond, double peakGigaflopsPerSecond) =>
        flopsPerToken * tokensPerSecond / (peakGigaflopsPerSecond * 1e9);
}
