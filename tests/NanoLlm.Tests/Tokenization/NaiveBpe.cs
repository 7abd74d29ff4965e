using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Tokenization;

/// <summary>
/// The reference twin of <see cref="Bpe"/>, written for clarity as minbpe's basic tokenizer is: training recounts
/// every pair after every merge, encoding applies the lowest-ranked merge present to the whole sequence until none
/// applies. Slow (merges × length) and obviously right; the fast versions must give identical results.
/// </summary>
internal static class NaiveBpe
{
    public static List<TokenPair> Train(ReadOnlySpan<byte> text, int vocabSize)
    {
        var ids = Bytes(text);
        var merges = new List<TokenPair>();
        while (256 + merges.Count < vocabSize)
        {
            var counts = CountPairs(ids);
            var best = default(TokenPair);
            var bestCount = 0;
            foreach (var (pair, count) in counts)
            {
                if (count > bestCount || (count == bestCount && IsSmaller(pair, best)))
                {
                    (best, bestCount) = (pair, count);
                }
            }
            if (bestCount < 2)
            {
                break;
            }
            ids = Merge(ids, best, 256 + merges.Count);
            merges.Add(best);
        }
        return merges;
    }

    /// <summary>
    /// minbpe's RegexTokenizer.train: every piece of the text (repeats included) is its own sequence; pairs are
    /// counted over all of them, and the chosen merge is applied in each.
    /// </summary>
    public static List<TokenPair> TrainOnPieces(IEnumerable<byte[]> textPieces, int vocabSize)
    {
        var pieces = textPieces.Select(piece => Bytes(piece)).ToList();
        var merges = new List<TokenPair>();
        while (256 + merges.Count < vocabSize)
        {
            var counts = new Dictionary<TokenPair, int>();
            foreach (var piece in pieces)
            {
                foreach (var (pair, count) in CountPairs(piece))
                {
                    counts[pair] = counts.GetValueOrDefault(pair) + count;
                }
            }
            var best = default(TokenPair);
            var bestCount = 0;
            foreach (var (pair, count) in counts)
            {
                if (count > bestCount || (count == bestCount && IsSmaller(pair, best)))
                {
                    (best, bestCount) = (pair, count);
                }
            }
            if (bestCount < 2)
            {
                break;
            }
            pieces = [.. pieces.Select(piece => Merge(piece, best, 256 + merges.Count))];
            merges.Add(best);
        }
        return merges;
    }

    public static List<int> Encode(ReadOnlySpan<byte> text, IReadOnlyList<TokenPair> merges)
    {
        var rankOf = new Dictionary<TokenPair, int>();
        for (var rank = 0; rank < merges.Count; rank++)
        {
            rankOf[merges[rank]] = rank;
        }
        var ids = Bytes(text);
        while (true)
        {
            var lowest = int.MaxValue;
            foreach (var pair in CountPairs(ids).Keys)
            {
                if (rankOf.TryGetValue(pair, out var rank) && rank < lowest)
                {
                    lowest = rank;
                }
            }
            if (lowest == int.MaxValue)
            {
                return ids;
            }
            ids = Merge(ids, merges[lowest], 256 + lowest);
        }
    }

    /// <summary>How often each adjacent pair occurs, counted at every position (so "aaa" holds (a, a) twice).</summary>
    public static Dictionary<TokenPair, int> CountPairs(List<int> ids)
    {
        var counts = new Dictionary<TokenPair, int>();
        for (var i = 0; i + 1 < ids.Count; i++)
        {
            var pair = new TokenPair(ids[i], ids[i + 1]);
            counts[pair] = counts.GetValueOrDefault(pair) + 1;
        }
        return counts;
    }

    /// <summary>Replaces each occurrence of <paramref name="pair"/>, left to right and non-overlapping, with <paramref name="token"/>.</summary>
    public static List<int> Merge(List<int> ids, TokenPair pair, int token)
    {
        var merged = new List<int>(ids.Count);
        var i = 0;
        while (i < ids.Count)
        {
            if (i + 1 < ids.Count && ids[i] == pair.Left && ids[i + 1] == pair.Right)
            {
                merged.Add(token);
                i += 2;
            }
            else
            {
                merged.Add(ids[i]);
                i++;
            }
        }
        return merged;
    }

    private static bool IsSmaller(TokenPair pair, TokenPair other) =>
        pair.Left < other.Left || (pair.Left == other.Left && pair.Right < other.Right);

    private static List<int> Bytes(ReadOnlySpan<byte> text)
    {
        var ids = new List<int>(text.Length);
        foreach (var b in text)
        {
            ids.Add(b);
        }
        return ids;
    }
}
