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

    private readonly int[] _tokens;
    private readonly int[] _previous;
    private readonly int[] _next;

    public TokenList(ReadOnlySpan<byte> bytes)
    {
        _tokens = new int[bytes.Length];
        _previous = new int[bytes.Length];
        _next = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            _tokens[i] = bytes[i];
            _previous[i] = i - 1;
            _next[i] = i + 1 < bytes.Length ? i + 1 : None;
        }
        Count = bytes.Length;
    }

    /// <summary>How many tokens the sequence holds now.</summary>
    public int Count { get; private set; }

    public int TokenAt(int position) => _tokens[position];

    public int Previous(int position) => _previous[position];

    public int Next(int position) => _next[position];

    /// <summary>Whether <paramref name="position"/> still holds <paramref name="left"/> followed by <paramref name="right"/>.</summary>
    public bool IsPairAt(int position, int left, int right)
    {
        if (_tokens[position] != left)
        {
            return false;
        }
        var next = _next[position];
        return next != None && _tokens[next] == right;
    }

    /// <summary>Replaces the pair starting at <paramref name="position"/> by <paramref name="token"/>, which keeps the position.</summary>
    public void Merge(int position, int token)
    {
        var right = _next[position];
        var afterRight = _next[right];
        _tokens[position] = token;
        _tokens[right] = Removed;
        _next[position] = afterRight;
        if (afterRight != None)
        {
            _previous[afterRight] = position;
        }
        Count--;
    }

    /// <summary>The tokens in order. The first node is never merged away (merges keep the left node), so the walk starts at 0.</summary>
    public ushort[] ToArray()
    {
        var tokens = new ushort[Count];
        var position = Count == 0 ? None : 0;
        for (var i = 0; i < tokens.Length; i++, position = _next[position])
        {
            tokens[i] = (ushort)_tokens[position];
        }
        return tokens;
    }
}
