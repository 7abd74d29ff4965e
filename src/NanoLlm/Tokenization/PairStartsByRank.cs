using System.Diagnostics;

namespace NanoLlm.Tokenization;

/// <summary>
/// Where pairs that have a merge start, by the merge's rank, for the encoder to take rank by rank, each rank's starts
/// in ascending order: that is how training merged them, and it matters where occurrences overlap ("aaa" is X a, not
/// a X). Pairs of two bytes are all there before the first merge: one counting sort puts them in a single array, bucket
/// by bucket, each in ascending order. A pair that a merge forms holds the merge's new token, so it belongs to a rank
/// of merged tokens: those are chained per rank, in the order added, through one shared pool. Reused text after text.
/// </summary>
/// <remarks>
/// The chains need no sorting. A pair (a, b) with a merged token forms only while the encoder takes the rank that made
/// the later of a and b (the other token is older or a byte), so each chain is filled during one rank's walk. A walk
/// in ascending order adds ascending starts: a merge at s adds the pair before it, at the previous token's start, and
/// the pair after it, at s, and the previous token of a later merge starts at or after s. The byte buckets are walked
/// in ascending order, so by induction on the rank every chain is too. Adding to a rank already taken would be a bug:
/// the encoder never does, because only later merges use a new token.
/// </remarks>
internal sealed class PairStartsByRank(int rankCount)
{
    private const int End = -1;

    // Bucket r of byte pairs is _byteStarts[_byteBucketStarts[r] .. _byteBucketStarts[r + 1]].
    private readonly int[] _byteBucketStarts = new int[rankCount + 1];
    private readonly int[] _fillCursors = new int[rankCount];
    private int[] _byteStarts = [];

    // The chain of rank r runs from _first[r] through Link.Next to _last[r]; End when empty.
    private readonly int[] _first = NewChainHeads(rankCount);
    private readonly int[] _last = new int[rankCount];
    private Link[] _links = [];
    private int _linkCount;
    private int _lastTaken = -1;

    /// <summary>The highest rank added so far; −1 when nothing was added.</summary>
    public int HighestRank { get; private set; } = -1;

    /// <summary>
    /// Starts over on <paramref name="bytes"/>: buckets every pair of adjacent bytes that has a merge. Every chain of
    /// the previous text must have been taken.
    /// </summary>
    public void Fill(ReadOnlySpan<byte> bytes, MergeRanks ranks)
    {
        Array.Clear(_byteBucketStarts);
        HighestRank = -1;
        _lastTaken = -1;
        _linkCount = 0;
        var counted = 0;
        for (var start = 0; start + 1 < bytes.Length; start++)
        {
            var rank = ranks.OfBytes(bytes[start], bytes[start + 1]);
            if (rank != MergeRanks.None)
            {
                _byteBucketStarts[rank + 1]++;
                counted++;
                HighestRank = Math.Max(HighestRank, rank);
            }
        }
        for (var rank = 0; rank < rankCount; rank++)
        {
            _byteBucketStarts[rank + 1] += _byteBucketStarts[rank];
        }
        if (_byteStarts.Length < counted)
        {
            _byteStarts = GC.AllocateUninitializedArray<int>(counted);
        }
        _byteBucketStarts.AsSpan(0, rankCount).CopyTo(_fillCursors);
        for (var start = 0; start + 1 < bytes.Length; start++)
        {
            var rank = ranks.OfBytes(bytes[start], bytes[start + 1]);
            if (rank != MergeRanks.None)
            {
                _byteStarts[_fillCursors[rank]++] = start;
            }
        }
        // Each merge adds at most two pairs, and a text of n bytes has at most n − 1 merges.
        if (_links.Length < 2 * bytes.Length)
        {
            _links = GC.AllocateUninitializedArray<Link>(2 * bytes.Length);
        }
    }

    /// <summary>The starts of the byte pairs of <paramref name="rank"/>, in ascending order.</summary>
    public ReadOnlySpan<int> ByteStarts(int rank) =>
        _byteStarts.AsSpan(_byteBucketStarts[rank], _byteBucketStarts[rank + 1] - _byteBucketStarts[rank]);

    /// <summary>Chains the start of a pair that a merge formed to the bucket of <paramref name="rank"/>.</summary>
    public void Add(int rank, int start)
    {
        Debug.Assert(rank > _lastTaken, "a rank gained a pair after it was taken");
        Debug.Assert(_first[rank] == End || _links[_last[rank]].Start < start, "a rank gained a pair out of order");
        var link = _linkCount++;
        _links[link] = new Link { Start = start, Next = End };
        if (_first[rank] == End)
        {
            _first[rank] = link;
            HighestRank = Math.Max(HighestRank, rank);
        }
        else
        {
            _links[_last[rank]].Next = link;
        }
        _last[rank] = link;
    }

    /// <summary>Empties the chain of <paramref name="rank"/> and walks its starts in the order added, which is ascending.</summary>
    public ChainEnumerator TakeChain(int rank)
    {
        _lastTaken = rank;
        var first = _first[rank];
        _first[rank] = End;
        return new ChainEnumerator(_links, first);
    }

    private static int[] NewChainHeads(int rankCount)
    {
        var heads = new int[rankCount];
        heads.AsSpan().Fill(End);
        return heads;
    }

    internal struct Link
    {
        public int Start;
        public int Next;
    }

    public struct ChainEnumerator
    {
        private readonly Link[] _links;
        private int _next;

        internal ChainEnumerator(Link[] links, int first)
        {
            _links = links;
            _next = first;
            Current = 0;
        }

        public int Current { get; private set; }

        public readonly ChainEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_next == End)
            {
                return false;
            }
            Current = _links[_next].Start;
            _next = _links[_next].Next;
            return true;
        }
    }
}
