namespace NanoLlm.Tokenization;

/// <summary>
/// The basic tokenizer's encoder: the merges in the order they were learned, each applied to every occurrence left to
/// right without overlap, exactly as training did. Every pair that has a merge waits in the bucket of its rank
/// (<see cref="PairStartsByRank"/>); ranks are taken in ascending order, and a merge adds only the two pairs it forms
/// with its neighbours, which hold the new token and so belong to later ranks. Linear in the text.
/// </summary>
/// <remarks>
/// <para>A long text is encoded in blocks of about <see cref="BlockLength"/> bytes, so that each block's work stays in
/// the processor's cache. A block ends only between two bytes that no token of the vocabulary holds side by side: no
/// merge can ever join a token ending before such a boundary to one starting after it (the token it made would hold
/// those two bytes), so each side merges exactly as it would in the whole text. When the vocabulary holds every pair
/// the text has, the text is one block.</para>
/// <para>A token is kept at the position of its first byte, so the token after the one at <c>s</c> starts at
/// <c>s + length</c>: the sequence needs no forward links, and a pair's right token is found without waiting for a
/// link to load. Each position holds its token (or <see cref="Inside"/> when it is not a token's first byte) and the
/// start of the token before, eight bytes a position.</para>
/// </remarks>
/// <param name="blockLength">The least length of a block but the last; the default unless testing the cuts.</param>
internal sealed class BpeEncoder(TokenPair[] merges, MergeRanks ranks, int[] lengths, BytePairSet joinedPairs, int blockLength = BpeEncoder.BlockLength)
{
    /// <summary>About how many bytes of text are merged at a time.</summary>
    public const int BlockLength = 1 << 16;

    private const int Inside = -1;
    private const int None = -1;

    private readonly PairStartsByRank _waiting = new(merges.Length);

    // One entry past the block, always Inside, so that the token after the last one never forms a pair.
    private Position[] _positions = [];
    private int _length;

    public ushort[] Encode(ReadOnlySpan<byte> text)
    {
        var tokens = new List<ushort>(text.Length / 3 + 8);
        var start = 0;
        while (start < text.Length)
        {
            var end = BlockEnd(text, start);
            EncodeBlock(text[start..end], tokens);
            start = end;
        }
        return [.. tokens];
    }

    /// <summary>The first boundary at least the block length after <paramref name="start"/> that no merge crosses, or the text's end.</summary>
    private int BlockEnd(ReadOnlySpan<byte> text, int start)
    {
        for (var end = start + blockLength; end < text.Length; end++)
        {
            if (!joinedPairs.Contains(text[end - 1], text[end]))
            {
                return end;
            }
        }
        return text.Length;
    }

    private void EncodeBlock(ReadOnlySpan<byte> bytes, List<ushort> tokens)
    {
        _length = bytes.Length;
        if (_positions.Length < bytes.Length + 1)
        {
            _positions = GC.AllocateUninitializedArray<Position>(bytes.Length + 1);
        }
        for (var i = 0; i < bytes.Length; i++)
        {
            _positions[i] = new Position { Token = bytes[i], Previous = i - 1 };
        }
        _positions[bytes.Length] = new Position { Token = Inside, Previous = None };
        _waiting.Fill(bytes, ranks);
        // HighestRank grows as merges add pairs, so the bound is read on every step.
        for (var rank = 0; rank <= _waiting.HighestRank; rank++)
        {
            var merge = new Merge(merges[rank], Bpe.ByteCount + rank, lengths);
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
        for (var start = 0; start < bytes.Length; start += lengths[_positions[start].Token])
        {
            tokens.Add((ushort)_positions[start].Token);
        }
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
        var rank = ranks.Of(left, right);
        if (rank != MergeRanks.None)
        {
            _waiting.Add(rank, start);
        }
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
