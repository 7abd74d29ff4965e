namespace NanoLlm.Data;

/// <summary>
/// Tokens to train or evaluate on: one or more segments (the encoded text of a corpus, or the shards of a prepared
/// one), with the number of text bytes each token stands for, so a loss in nats per token can also be given in bits
/// per byte (comparable across tokenizers). A window never crosses from one segment into the next: a shard boundary
/// is usually a document boundary, and llm.c reads its windows within a shard too. With one segment, window starts
/// and consecutive windows are exactly those of the plain token array.
/// </summary>
public sealed class TokenSplit
{
    private readonly TokenSegment[] _segments;
    private int[] _window = [];

    public TokenSplit(IReadOnlyList<TokenSegment> segments, int[] bytesPerToken)
    {
        _segments = [.. segments];
        BytesPerToken = bytesPerToken;
        Length = _segments.Sum(s => s.Length);
        LongestSegment = _segments.Length == 0 ? 0 : _segments.Max(s => s.Length);
    }

    /// <summary>Indexed by token id: how many bytes of text that token decodes to.</summary>
    public int[] BytesPerToken { get; }

    public IReadOnlyList<TokenSegment> Segments => _segments;

    /// <summary>Tokens in all segments.</summary>
    public long Length { get; }

    public long LongestSegment { get; }

    /// <summary>Splits off the last <paramref name="fraction"/> of the tokens as the validation split.</summary>
    public static (TokenSplit Train, TokenSplit Validation) Split(ushort[] tokens, int[] bytesPerToken, double fraction) =>
        new TokenSplit([TokenSegment.Whole(new MemoryTokens(tokens))], bytesPerToken).SplitOff(fraction);

    /// <summary>The last <paramref name="fraction"/> of the tokens (in segment order) as a validation split, and the rest.</summary>
    public (TokenSplit Train, TokenSplit Validation) SplitOff(double fraction)
    {
        var cut = Length - (long)(Length * fraction);
        List<TokenSegment> train = [], validation = [];
        var position = 0L;
        foreach (var segment in _segments)
        {
            var before = Math.Clamp(cut - position, 0, segment.Length);
            if (before > 0)
            {
                train.Add(segment with { Length = before });
            }
            if (before < segment.Length)
            {
                validation.Add(new TokenSegment(segment.Source, segment.Start + before, segment.Length - before));
            }
            position += segment.Length;
        }
        return (new TokenSplit(train, BytesPerToken), new TokenSplit(validation, BytesPerToken));
    }

    /// <summary>How many windows of <paramref name="length"/> inputs (and one more target) fit: the range of <see cref="Window"/>'s start.</summary>
    public long WindowStarts(int length) => _segments.Sum(s => Math.Max(0, s.Length - length));

    /// <summary>
    /// Writes the window at <paramref name="start"/> (counted over all segments' window starts) as inputs, and the
    /// window shifted by one as targets.
    /// </summary>
    public void Window(long start, Span<int> inputs, Span<int> targets)
    {
        foreach (var segment in _segments)
        {
            var starts = Math.Max(0, segment.Length - inputs.Length);
            if (start < starts)
            {
                Read(segment, start, inputs, targets);
                return;
            }
            start -= starts;
        }
        throw new ArgumentOutOfRangeException(nameof(start), start, "Past the last window start.");
    }

    /// <summary>How many non-overlapping windows of <paramref name="length"/> tokens follow each other from each segment's start.</summary>
    public long ConsecutiveWindows(int length) => _segments.Sum(s => Math.Max(0, s.Length - 1) / length);

    /// <summary>Writes consecutive window <paramref name="index"/>: the evaluation's fixed windows.</summary>
    public void ConsecutiveWindow(long index, Span<int> inputs, Span<int> targets)
    {
        foreach (var segment in _segments)
        {
            var windows = Math.Max(0, segment.Length - 1) / inputs.Length;
            if (index < windows)
            {
                Read(segment, index * inputs.Length, inputs, targets);
                return;
            }
            index -= windows;
        }
        throw new ArgumentOutOfRangeException(nameof(index), index, "Past the last consecutive window.");
    }

    private void Read(TokenSegment segment, long offset, Span<int> inputs, Span<int> targets)
    {
        if (_window.Length != inputs.Length + 1)
        {
            _window = new int[inputs.Length + 1];
        }
        segment.Source.Read(segment.Start + offset, _window);
        _window.AsSpan(0, inputs.Length).CopyTo(inputs);
        _window.AsSpan(1).CopyTo(targets);
    }
}
