using System.Buffers.Binary;
using System.Globalization;

namespace NanoLlm.Data;

/// <summary>
/// Writes one split's tokens as shards of <c>shardTokens</c> tokens (<c>train_000000.bin</c>, …; the last holds the
/// rest). Each shard is written to a hidden temporary file beside its target, its header filled in once it is full,
/// flushed to disk and renamed into place: a shard either exists whole or not at all, and every header records where
/// the next shard's text starts, so a preparation stopped at any point continues after its last whole shard.
/// </summary>
internal sealed class ShardWriter : IDisposable
{
    private readonly string _folder;
    private readonly string _prefix;
    private readonly int _shardTokens;
    private readonly int _width;
    private readonly ShardRecord _template;
    private readonly int[] _tokenBytes;
    private readonly byte[] _buffer = new byte[1 << 20];
    private FileStream? _stream;
    private string? _temporary;
    private int _count;
    private long _textBytes;

    /// <param name="template">The header record every shard gets, but for its text bytes and next position.</param>
    /// <param name="tokenBytes">Text bytes per token id, for the header's byte count.</param>
    public ShardWriter(string folder, string prefix, int firstIndex, int shardTokens, ShardRecord template, int[] tokenBytes)
    {
        (_folder, _prefix, _shardTokens, _template, _tokenBytes) = (folder, prefix, shardTokens, template, tokenBytes);
        _width = ShardHeader.WidthFor(template.VocabSize);
        NextIndex = firstIndex;
    }

    /// <summary>The index the shard being written (or the next one) gets.</summary>
    public int NextIndex { get; private set; }

    public long TokensWritten { get; private set; }

    public static string ShardPath(string folder, string prefix, int index) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{prefix}_{index:D6}.bin"));

    /// <summary>
    /// Appends a chunk's tokens. <paramref name="start"/> is where the chunk starts (its <c>TokensWritten</c> counts
    /// tokens of it already in an earlier shard, which <paramref name="tokens"/> no longer holds) and
    /// <paramref name="next"/> where the chunk after it starts.
    /// </summary>
    public void Write(ReadOnlySpan<int> tokens, SourcePosition start, SourcePosition next)
    {
        var taken = start.TokensWritten;
        while (!tokens.IsEmpty)
        {
            _stream ??= Begin();
            var count = Math.Min(tokens.Length, _shardTokens - _count);
            Append(tokens[..count]);
            tokens = tokens[count..];
            taken += count;
            if (_count == _shardTokens)
            {
                Complete(tokens.IsEmpty ? next : start with { TokensWritten = taken });
            }
        }
    }

    /// <summary>Completes the last, partial shard of the split (when it holds any tokens), whose next position is the input's end.</summary>
    public void Finish(SourcePosition end)
    {
        if (_stream is not null && _count > 0)
        {
            Complete(end);
        }
    }

    /// <summary>Deletes the shard being written, if any: what a stopped preparation leaves is whole shards only.</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
        if (_temporary is not null)
        {
            File.Delete(_temporary);
            _temporary = null;
        }
    }

    private FileStream Begin()
    {
        var target = ShardPath(_folder, _prefix, NextIndex);
        _temporary = Path.Combine(_folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        stream.Write(new byte[ShardHeader.Bytes]);
        (_count, _textBytes) = (0, 0);
        return stream;
    }

    private void Append(ReadOnlySpan<int> tokens)
    {
        var perBuffer = _buffer.Length / _width;
        while (!tokens.IsEmpty)
        {
            var part = tokens[..Math.Min(tokens.Length, perBuffer)];
            for (var i = 0; i < part.Length; i++)
            {
                if (_width == sizeof(ushort))
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(i * 2), (ushort)part[i]);
                }
                else
                {
                    BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(i * 4), part[i]);
                }
                _textBytes += _tokenBytes[part[i]];
            }
            _stream!.Write(_buffer, 0, part.Length * _width);
            tokens = tokens[part.Length..];
            _count += part.Length;
            TokensWritten += part.Length;
        }
    }

    private void Complete(SourcePosition next)
    {
        var header = new ShardHeader(_width, _count) { Record = _template with { TextBytes = _textBytes, Next = next } };
        var bytes = new byte[ShardHeader.Bytes];
        header.WriteTo(bytes);
        var stream = _stream!;
        stream.Position = 0;
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        _stream = null;
        File.Move(_temporary!, ShardPath(_folder, _prefix, NextIndex), overwrite: true);
        _temporary = null;
        NextIndex++;
    }
}
