using NanoLlm.Model;
using NanoLlm.Tokenization;

namespace NanoLlm.Inspection;

/// <summary>
/// What a trained model does with a prompt, as numbers to draw: for each position of the prompt, the most likely next
/// tokens; for a model with attention, the attention weights of every layer and head over the prompt.
/// </summary>
public sealed class Explanation
{
    private Explanation(IReadOnlyList<int> tokens, IReadOnlyList<string> labels, IReadOnlyList<IReadOnlyList<TokenCandidate>> next, AttentionMaps? attention)
    {
        Tokens = tokens;
        Labels = labels;
        Next = next;
        Attention = attention;
    }

    /// <summary>The prompt's tokens.</summary>
    public IReadOnlyList<int> Tokens { get; }

    /// <summary>Each token of the prompt as <see cref="TokenText"/> shows it.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// <c>Next[p]</c>: the most likely tokens after position p, most likely first, as generation sees them (the model's
    /// inference path, token by token, so any prompt length works and the last position is what the chat draws from).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<TokenCandidate>> Next { get; }

    /// <summary>The attention weights over the prompt's last positions; null for a model without attention.</summary>
    public AttentionMaps? Attention { get; }

    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="prompt"/>: the top <paramref name="count"/> next tokens at each
    /// position, and for a model with attention one forward pass over the prompt's last <c>context_length</c> tokens.
    /// </summary>
    public static Explanation Of(ILanguageModel model, Tokenizer tokenizer, string prompt, int count)
    {
        var tokens = tokenizer.Encode(prompt, SpecialTokenHandling.AsText);
        if (tokens.Length == 0)
        {
            throw new ArgumentException("The prompt has no tokens to explain.", nameof(prompt));
        }
        var inference = model.StartInference();
        var next = new IReadOnlyList<TokenCandidate>[tokens.Length];
        for (var p = 0; p < tokens.Length; p++)
        {
            next[p] = TokenCandidates.Top(inference.Feed(tokens[p]), count, tokenizer);
        }
        var labels = Array.ConvertAll(tokens, t => TokenText.Show(tokenizer, t));
        var attention = model is IAttentionInspection inspection ? Attend(model, inspection, tokens) : null;
        return new Explanation(tokens, labels, next, attention);
    }

    private static AttentionMaps Attend(ILanguageModel model, IAttentionInspection inspection, int[] tokens)
    {
        var length = Math.Min(tokens.Length, model.Spec.ContextLength);
        var first = tokens.Length - length;
        var inputs = tokens.AsSpan(first, length);
        // The loss is not read: the targets are the prompt's own next tokens, the last one repeated.
        var targets = new int[length];
        inputs[1..].CopyTo(targets);
        targets[^1] = inputs[^1];
        model.Training = false;
        model.Forward(inputs, targets, 1, length);

        var (layers, heads) = (inspection.AttentionLayers, inspection.AttentionHeads);
        var weights = new float[layers * heads * length * length];
        for (var l = 0; l < layers; l++)
        {
            inspection.AttentionWeights(l).CopyTo(weights.AsSpan(l * heads * length * length));
        }
        return new AttentionMaps(layers, heads, first, length, weights);
    }
}

/// <summary>
/// Attention weights <c>[L, H, T, T]</c> of one forward pass over <see cref="Length"/> prompt positions from
/// <see cref="FirstPosition"/>: query i's weights over keys 0..i, zeros after.
/// </summary>
public sealed class AttentionMaps(int layers, int heads, int firstPosition, int length, float[] weights)
{
    public int Layers { get; } = layers;

    public int Heads { get; } = heads;

    /// <summary>The prompt position of query and key 0 (more than 0 when the prompt is longer than the context).</summary>
    public int FirstPosition { get; } = firstPosition;

    public int Length { get; } = length;

    /// <summary>How much query position <paramref name="query"/> attends to key position <paramref name="key"/> (both from 0 at <see cref="FirstPosition"/>).</summary>
    public float Weight(int layer, int head, int query, int key) =>
        weights[(((((layer * Heads) + head) * Length) + query) * Length) + key];
}
