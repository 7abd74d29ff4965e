namespace NanoLlm.Tokenization;

/// <summary>
/// A token sequence as a doubly linked list over the positions of the original bytes. Merging a pair rewrites the
/// left node and unlinks the right one in O(1), and a position keeps naming the same node for the whole run, so
/// the trainer and encoder can remember where pairs start and check later whether they are still there.
/// </summary>
internal sealed class TokenList
{
    public const int None = -1;

    // A node merged into its left neighbour gets this token, so no pair ever matches at it again.
    private const int Removed = -1;

    // One array of nodes rather than three of fields: a merge reads and writes a node's token and links together,
    // and on a megabyte of text that is one cache miss instead of three.
    private readonly Node[] _nodes;

    public TokenList(ReadOnlySpan<byte> bytes)
    {
        _nodes = new Node[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            _nodes[i] = new Node { Token = bytes[i], Previous = i - 1, Next = i + 1 < bytes.Length ? i + 1 : None };
        }
        Count = bytes.Length;
    }

    /// <summary>Several sequences side by side: <paramref name="pieceLengths"/> cut the bytes into pieces that no pair crosses.</summary>
    public TokenList(ReadOnlySpan<byte> bytes, ReadOnlySpan<int> pieceLengths) : this(bytes)
    {
        var start = 0;
        foreach (var length in pieceLengths)
        {
            _nodes[start].Previous = None;
            _nodes[start + length - 1].Next = None;
            start += length;
        }
    }

    /// <summary>How many tokens the sequence holds now.</summary>
    public int Count { get; private set; }

    public int TokenAt(int position) => _nodes[position].Token;

    public int Previous(int position) => _nodes[position].Previous;

    public int Next(int position) => _nodes[position].Next;

    /// <summary>Whether <paramref name="position"/> still holds <paramref name="left"/> followed by <paramref name="right"/>.</summary>
    public bool IsPairAt(int position, int left, int right)
    {
        ref var node = ref _nodes[position];
        return node.Token == left && node.Next != None && _nodes[node.Next].Token == right;
    }

    /// <summary>Replaces the pair starting at <paramref name="position"/> by <paramref name="token"/>, which keeps the position.</summary>
    public void Merge(int position, int token)
    {
        ref var node = ref _nodes[position];
        ref var right = ref _nodes[node.Next];
        node.Token = token;
        node.Next = right.Next;
        right.Token = Removed;
        if (right.Next != None)
        {
            _nodes[right.Next].Previous = position;
        }
        Count--;
    }

    /// <summary>The tokens in order. The first node is never merged away (merges keep the left node), so the walk starts at 0.</summary>
    public ushort[] ToArray()
    {
        var tokens = new ushort[Count];
        var position = Count == 0 ? None : 0;
        for (var i = 0; i < tokens.Length; i++, position = _nodes[position].Next)
        {
            tokens[i] = (ushort)_nodes[position].Token;
        }
        return tokens;
    }

    private struct Node
    {
        public int Token;
        public int Previous;
        public int Next;
    }
}
