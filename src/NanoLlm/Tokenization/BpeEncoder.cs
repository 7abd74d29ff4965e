namespace NanoLlm.Tokenization;

/// <summary>
/// One run of the basic tokenizer's encoder over a text: the merges in the order they were learned, each applied to
/// every occurrence left to right without overlap, exactly as training did. Every pair that has a merge waits in the
/// bucket of its rank (<see cref="PairStartsByRank"/>); ranks are taken in ascending order, and a merge adds only the
/// two pairs it forms with its neighbours, which hold the new token and so belong to later ranks. Linear in the text.
/// </summary>
/// <remarks>
/// A token is kept at the position of its first byte, so the token after the one at <c>s</c> starts at
/// <c>s + length</c>: the sequence needs no forward links, and a pair's right token is found without waiting for a
/// link to load. Each position holds its token (or <see cref="Inside"/> when it is not a token's first byte) and the
/// start of the token before, eight bytes a position.
/// </remarks>
internal sealed class BpeEncoder
{
    private const int Inside = -1;
    private const int None = -1;

    private readonly TokenPair[] _merges;
    private readonly MergeRanks _ranks;
    private readonly int[] _lengths;
    private readonly int _length;

    // One entry past the text, always Inside, so that the token after the last one never forms a pair.
    private readonly Position[] _positions;
    private readonly PairStartsByRank _waiting;

    /// <param name="lengths">The length in bytes of each token.</param>
    public BpeEncoder(ReadOnlySpan<byte> bytes, TokenPair[] merges, MergeRanks ranks, int[] lengths)
    {
        _merges = merges;
        _ranks = ranks;
        _lengths = lengths;
        _length = bytes.Length;
        _positions = GC.AllocateUninitializedArray<Position>(bytes.Length + 1);
        for (var i = 0; i < bytes.Length; i++)
        {
            _positions[i] = new Position { Token = bytes[i], Previous = i - 1 };
        }
        _positions[bytes.Length] = new Position { Token = Inside, Previous = None };
        _waiting = new PairStartsByRank(bytes, ranks, merges.Length);
    }

    public ushort[] Encode()
    {
        // HighestRank grows as merges add pairs, so the bound is read on every step.
        for (var rank = 0; rank <= _waiting.HighestRank; rank++)
        {
            var merge = new Merge(_merges[rank], Bpe.ByteCount + rank, _lengths);
            if (merge.Left < Bpe.ByteCount && merge.Right < Bpe.ByteCount)
            {
                foreach (var start in _waiting.ByteStarts(rank))
                {
                    MergeAt(start, merge);
                }
            }
            else
            {
                foreach (var start in _waiting.TakeChain(rank))
                {
                    MergeAt(start, merge);
                }
            }
        }
        return Tokens();
    }

    /// <summary>
    /// Merges the pair at <paramref name="start"/> unless the start is stale (a merge since took one of its tokens: an
    /// overlapping occurrence just before it, as for the middle of "aaa", or a lower-ranked pair it shared a token
    /// with), and buckets the pairs the new token forms with its neighbours.
    /// </summary>
    private void MergeAt(int start, in Merge merge)
    {
        var positions = _positions;
        ref var first = ref positions[start];
        var second = start + merge.LeftLength;
        if (first.Token != merge.Left || positions[second].Token != merge.Right)
        {
            return;
        }
        first.Token = merge.Token;
        positions[second].Token = Inside;
        var before = first.Previous;
        if (before != None)
        {
            AddIfMerged(before, positions[before].Token, merge.Token);
        }
        var after = start + merge.TokenLength;
        if (after < _length)
        {
            positions[after].Previous = start;
            AddIfMerged(start, merge.Token, positions[after].Token);
        }
    }

    private void AddIfMerged(int start, int left, int right)
    {
        var rank = _ranks.Of(left, right);
        if (rank != MergeRanks.None)
        {
            _waiting.Add(rank, start);
        }
    }

    private ushort[] Tokens()
    {
        var count = 0;
        for (var start = 0; start < _length; start += _lengths[_positions[start].Token])
        {
            count++;
        }
        var tokens = new ushort[count];
        for (int start = 0, i = 0; start < _length; start += _lengths[_positions[start].Token])
        {
            tokens[i++] = (ushort)_positions[start].Token;
        }
        return tokens;
    }

    private struct Position
    {
        public int Token;
        public int Previous;
    }

    private readonly struct Merge(TokenPair pair, int token, int[] lengths)
    {
        public readonly int Left = pair.Left;
        public readonly int Right = pair.Right;
        public readonly int Token = token;
        public readonly int LeftLength = lengths[pair.Left];
        public readonly int TokenLength = lengths[token];
    }
}
