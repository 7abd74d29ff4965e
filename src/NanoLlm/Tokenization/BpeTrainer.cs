using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace NanoLlm.Tokenization;

/// <summary>
/// Learns BPE merges without recounting the text after each merge. The text is a <see cref="TokenList"/>; every pair
/// seen keeps its count and the positions where it starts; a merge visits only the occurrences of the merged pair and
/// adjusts the counts of the pairs around each one. The most frequent pair comes from a priority queue with lazy
/// deletion: pairs whose count grew are queued afresh after each merge, and an entry whose count has fallen since it
/// was queued is re-queued with the true count when it surfaces, so the first entry that is still true is the best.
/// The result equals minbpe's recount-everything loop (the naive twin in the tests), merge for merge.
/// </summary>
internal sealed class BpeTrainer
{
    private readonly TokenList _tokens;

    // How many times the piece holding each position occurs in the text (null: every position counts once).
    private readonly int[]? _weights;
    private readonly Dictionary<uint, PairOccurrences> _pairs = [];

    // Priority orders by count, highest first, then by pair, smallest first: see Priority.
    private readonly PriorityQueue<PairOccurrences, long> _queue = new();

    // Pairs whose count rose during the current merge: they are queued with their final count when it is done.
    private readonly List<PairOccurrences> _grown = [];
    private int _mergeIndex;

    private BpeTrainer(ReadOnlySpan<byte> text, TokenList tokens, int[]? weights)
    {
        _tokens = tokens;
        _weights = weights;
        for (var i = 0; i + 1 < text.Length; i++)
        {
            if (_tokens.Next(i) != TokenList.None)
            {
                Occurrences(new TokenPair(text[i], text[i + 1]).Key).Add(i, Weight(i));
            }
        }
        foreach (var pair in _pairs.Values)
        {
            Enqueue(pair);
        }
    }

    /// <summary>Up to <paramref name="mergeCount"/> merges, fewer if the text runs out of pairs that occur twice.</summary>
    public static TokenPair[] Train(ReadOnlySpan<byte> text, int mergeCount) =>
        new BpeTrainer(text, new TokenList(text), null).Train(mergeCount);

    /// <summary>
    /// Up to <paramref name="mergeCount"/> merges learned inside the pieces that <paramref name="split"/> cuts each
    /// segment of <paramref name="text"/> into (minbpe's RegexTokenizer): no pair crosses a piece, and each distinct
    /// piece is held once and counted as often as it occurs.
    /// </summary>
    public static TokenPair[] TrainOnPieces(ReadOnlySpan<byte> text, IReadOnlyList<(int Start, int Length)> segments, SplitPattern split, int mergeCount)
    {
        var source = text.ToArray();
        var counts = new Dictionary<(int Start, int Length), int>(new PieceComparer(source));
        foreach (var (segmentStart, segmentLength) in segments)
        {
            var segment = source.AsSpan(segmentStart, segmentLength);
            for (var start = 0; start < segment.Length;)
            {
                var end = PreTokenizer.PieceEnd(segment, start, split);
                // A one-byte piece holds no pair.
                if (end - start > 1)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(counts, (segmentStart + start, end - start), out _)++;
                }
                start = end;
            }
        }
        var totalLength = 0;
        foreach (var (piece, _) in counts)
        {
            totalLength += piece.Length;
        }
        var pieces = new byte[totalLength];
        var lengths = new int[counts.Count];
        var weights = new int[totalLength];
        var (position, index) = (0, 0);
        foreach (var ((start, length), count) in counts)
        {
            source.AsSpan(start, length).CopyTo(pieces.AsSpan(position));
            weights.AsSpan(position, length).Fill(count);
            lengths[index++] = length;
            position += length;
        }
        return new BpeTrainer(pieces, new TokenList(pieces, lengths), weights).Train(mergeCount);
    }

    private TokenPair[] Train(int mergeCount)
    {
        var merges = new List<TokenPair>(mergeCount);
        while (merges.Count < mergeCount && TryTakeMostFrequent(out var pair))
        {
            Merge(pair, Bpe.ByteCount + merges.Count);
            merges.Add(TokenPair.FromKey(pair.Key));
        }
        return [.. merges];
    }

    private bool TryTakeMostFrequent([MaybeNullWhen(false)] out PairOccurrences mostFrequent)
    {
        while (_queue.TryDequeue(out mostFrequent, out var priority))
        {
            if (mostFrequent.Count == CountOf(priority))
            {
                return true;
            }
            Enqueue(mostFrequent);
        }
        return false;
    }

    /// <summary>
    /// Replaces every occurrence of the pair, left to right and non-overlapping, by <paramref name="token"/>, and for each
    /// one moves the counts of its neighbours' pairs: (before, left) becomes (before, token), (right, after) becomes (token, after).
    /// </summary>
    private void Merge(PairOccurrences merged, int token)
    {
        var (left, right) = TokenPair.FromKey(merged.Key);
        // Positions were added in runs, each ascending; sorted, they give the left-to-right order minbpe merges in.
        var starts = CollectionsMarshal.AsSpan(merged.Starts);
        starts.Sort();
        foreach (var start in starts)
        {
            // An occurrence is gone if an earlier merge took one of its nodes, as the overlapping middle of "aaa".
            if (!_tokens.IsPairAt(start, left, right))
            {
                continue;
            }
            var before = _tokens.Previous(start);
            if (before != TokenList.None)
            {
                var beforeToken = _tokens.TokenAt(before);
                Decrement(new TokenPair(beforeToken, left).Key, Weight(start));
                Increment(new TokenPair(beforeToken, token).Key, before, Weight(start));
            }
            var after = _tokens.Next(_tokens.Next(start));
            if (after != TokenList.None)
            {
                var afterToken = _tokens.TokenAt(after);
                Decrement(new TokenPair(right, afterToken).Key, Weight(start));
                Increment(new TokenPair(token, afterToken).Key, start, Weight(start));
            }
            _tokens.Merge(start, token);
        }
        // No occurrence is left (each was merged or overlapped a merged one), and none can form again: tokens are never split.
        // A count of 0 also marks the entries still queued for it as stale.
        _pairs.Remove(merged.Key);
        merged.Count = 0;

        foreach (var pair in _grown)
        {
            Enqueue(pair);
        }
        _grown.Clear();
        _mergeIndex++;
    }

    private int Weight(int position) => _weights?[position] ?? 1;

    private void Increment(uint key, int start, int weight)
    {
        var pair = Occurrences(key);
        pair.Add(start, weight);
        if (pair.LastGrownInMerge != _mergeIndex)
        {
            pair.LastGrownInMerge = _mergeIndex;
            _grown.Add(pair);
        }
    }

    private void Decrement(uint key, int weight) => _pairs[key].Count -= weight;

    private PairOccurrences Occurrences(uint key)
    {
        ref var pair = ref CollectionsMarshal.GetValueRefOrAddDefault(_pairs, key, out _);
        pair ??= new PairOccurrences(key);
        return pair;
    }

    /// <summary>Queues a pair that could still be merged: one that occurs at least twice.</summary>
    private void Enqueue(PairOccurrences pair)
    {
        if (pair.Count >= 2)
        {
            _queue.Enqueue(pair, Priority(pair.Count, pair.Key));
        }
    }

    // The queue takes the smallest priority first: the count, inverted so the highest comes first, in the high 32 bits,
    // and the pair key (left · 65536 + right) in the low 32 bits, so equal counts go to the smallest (left, right) pair.
    private static long Priority(int count, uint key) => ((long)(int.MaxValue - count) << 32) | key;

    private static int CountOf(long priority) => int.MaxValue - (int)(priority >> 32);

    /// <summary>Compares pieces, given as (start, length) in one text, by their bytes.</summary>
    private sealed class PieceComparer(byte[] text) : IEqualityComparer<(int Start, int Length)>
    {
        public bool Equals((int Start, int Length) x, (int Start, int Length) y) =>
            text.AsSpan(x.Start, x.Length).SequenceEqual(text.AsSpan(y.Start, y.Length));

        public int GetHashCode((int Start, int Length) piece)
        {
            var hash = new HashCode();
            hash.AddBytes(text.AsSpan(piece.Start, piece.Length));
            return hash.ToHashCode();
        }
    }

    /// <summary>How often a pair occurs now, and the positions where it started when it was counted (some may be stale).</summary>
    private sealed class PairOccurrences(uint key)
    {
        public uint Key { get; } = key;

        public int Count { get; set; }

        public List<int> Starts { get; } = [];

        public int LastGrownInMerge { get; set; } = -1;

        public void Add(int start, int weight)
        {
            Count += weight;
            Starts.Add(start);
        }
    }
}
