using NanoLlm.Tokenization;

namespace NanoLlm.Inspection;

/// <param name="Text">The token as <see cref="TokenText"/> shows it.</param>
/// <param name="Probability">softmax(logits)[token]: the model's own probability, before any sampling control.</param>
public sealed record TokenCandidate(int Token, string Text, double Probability);

/// <summary>The last token a reply drew, and the most likely candidates it was drawn among.</summary>
public sealed record TokenDraw(TokenCandidate Drawn, IReadOnlyList<TokenCandidate> Top);

/// <summary>The most likely next tokens under a model's logits.</summary>
public static class TokenCandidates
{
    /// <summary>
    /// The <paramref name="count"/> tokens of highest probability softmax(<paramref name="logits"/>), most likely first
    /// (the lower id first among ties). Temperature, top-k and top-p act on this distribution.
    /// </summary>
    public static IReadOnlyList<TokenCandidate> Top(ReadOnlySpan<float> logits, int count, Tokenizer tokenizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        count = Math.Min(count, logits.Length);
        var (max, total) = Normalizer(logits);
        // Insertion into a short list kept in order: k is small (5 or 10), V up to 65,536.
        var best = new List<int>(count + 1);
        for (var token = 0; token < logits.Length; token++)
        {
            if (best.Count == count && logits[token] <= logits[best[^1]])
            {
                continue;
            }
            var at = best.Count;
            while (at > 0 && logits[token] > logits[best[at - 1]])
            {
                at--;
            }
            best.Insert(at, token);
            if (best.Count > count)
            {
                best.RemoveAt(count);
            }
        }
        var candidates = new TokenCandidate[best.Count];
        for (var i = 0; i < best.Count; i++)
        {
            candidates[i] = new TokenCandidate(best[i], TokenText.Show(tokenizer, best[i]), Math.Exp(logits[best[i]] - max) / total);
        }
        return candidates;
    }

    /// <summary>Token <paramref name="token"/> with its probability softmax(<paramref name="logits"/>)[token].</summary>
    public static TokenCandidate Of(ReadOnlySpan<float> logits, int token, Tokenizer tokenizer)
    {
        var (max, total) = Normalizer(logits);
        return new TokenCandidate(token, TokenText.Show(tokenizer, token), Math.Exp(logits[token] - max) / total);
    }

    // p_i = e^(z_i − max) / Σ_j e^(z_j − max): the max and the sum
    private static (float Max, double Total) Normalizer(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var logit in logits)
        {
            max = Math.Max(max, logit);
        }
        double total = 0;
        foreach (var logit in logits)
        {
            total += Math.Exp(logit - max);
        }
        return (max, total);
    }
}
