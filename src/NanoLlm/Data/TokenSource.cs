namespace NanoLlm.Data;

/// <summary>A run of tokens that windows are read from: an in-memory array or a shard file.</summary>
public abstract class TokenSource
{
    public abstract long Length { get; }

    /// <summary>Writes tokens <c>[offset, offset + destination.Length)</c> into <paramref name="destination"/>.</summary>
    public abstract void Read(long offset, Span<int> destination);
}

/// <summary>Tokens held in memory: a text corpus encoded at the start of a run.</summary>
public sealed class MemoryTokens(ReadOnlyMemory<ushort> tokens) : TokenSource
{
    public ReadOnlyMemory<ushort> Tokens { get; } = tokens;

    public override long Length => Tokens.Length;

    public override void Read(long offset, Span<int> destination)
    {
        var tokens = Tokens.Span.Slice(checked((int)offset), destination.Length);
        for (var t = 0; t < destination.Length; t++)
        {
            destination[t] = tokens[t];
        }
    }
}

/// <summary>Tokens <c>[Start, Start + Length)</c> of a source.</summary>
public readonly record struct TokenSegment(TokenSource Source, long Start, long Length)
{
    public static TokenSegment Whole(TokenSource source) => new(source, 0, source.Length);
}
