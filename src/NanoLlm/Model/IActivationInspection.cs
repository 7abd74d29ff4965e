namespace NanoLlm.Model;

/// <summary>
/// Statistics of a model's activations in its last <see cref="ILanguageModel.Forward"/>, for training diagnostics
/// (makemore's activation histograms, in numbers). Measured only when asked, from buffers the forward keeps anyway.
/// </summary>
public interface IActivationInspection
{
    /// <summary>One entry per activation site (e.g. each block's GELU and attention softmax), in the model's order.</summary>
    IReadOnlyList<ActivationStatistics> MeasureActivations();
}

/// <param name="Site">Which activation: <c>h.0.gelu</c>, <c>h.0.attn</c>, <c>hidden.0.relu</c> …</param>
/// <param name="Saturated">
/// The fraction of units where the gradient barely flows: what counts is said by each site (GELU inputs below −3, ReLU
/// inputs at or below 0, attention rows that put 0.99 or more on one key).
/// </param>
public readonly record struct ActivationStatistics(string Site, double Mean, double StandardDeviation, double Saturated);
