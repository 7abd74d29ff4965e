using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NanoLlm.Data;

/// <summary>
/// Writes one split's tokens as shards of <c>shardTokens</c> tokens (<c>train_000000.bin</c>, …; the last holds the
/// rest). Each shard is written to a hidden temporary file beside its target, its header filled in once it is full,
/// flushed to disk and renamed into place: a shard either exists whole or not at all, and every header records where
/// the next shard's text starts, so a preparation stopped at any point continues after its last whole shard. The
/// flush (the disk's time: about 0.2 s for a 200 MB shard here) and the rename run on a thread of their own,
/// one shard after the other in index order, while the next shard is written.
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
    private SafeFileHandle? _file;
    private string? _temporary;
    private long _position;
    private int _count;
    private long _textBytes;

    // The shards handed over to be flushed and renamed, the last one's task; each waits for the one before.
    private Task _sealing = Task.CompletedTask;

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
            if (_file is null)
            {
                Begin();
            }
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

    /// <summary>
    /// Completes the last, partial shard of the split (when it holds any tokens), whose next position is the input's
    /// end, and waits until every shard is in place.
    /// </summary>
    public void Finish(SourcePosition end)
    {
        if (_file is not null && _count > 0)
        {
            Complete(end);
        }
        _sealing.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Waits for the shards already complete to be in place and deletes the shard being written, if any: what a
    /// stopped preparation leaves is whole shards only.
    /// </summary>
    public void Dispose()
    {
        _sealing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        _file?.Dispose();
        _file = null;
        if (_temporary is not null)
        {
            File.Delete(_temporary);
            _temporary = null;
        }
    }

    private void Begin()
    {
        var target = ShardPath(_folder, _prefix, NextIndex);
        _temporary = Path.Combine(_folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        _file = File.OpenHandle(_temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        (_position, _count, _textBytes) = (ShardHeader.Bytes, 0, 0);
    }

    // The tokens in the shard's width, little-endian, written straight from one reused buffer.
    private void Append(ReadOnlySpan<int> tokens)
    {
        var perBuffer = _buffer.Length / _width;
        while (!tokens.IsEmpty)
        {
            var part = tokens[..Math.Min(tokens.Length, perBuffer)];
            var textBytes = 0L;
            if (_width == sizeof(ushort))
            {
                var words = MemoryMarshal.Cast<byte, ushort>(_buffer.AsSpan(0, part.Length * sizeof(ushort)));
                for (var i = 0; i < part.Length; i++)
                {
                    words[i] = BitConverter.IsLittleEndian ? (ushort)part[i] : BinaryPrimitives.ReverseEndianness((ushort)part[i]);
                    textBytes += _tokenBytes[part[i]];
                }
            }
            else
            {
                for (var i = 0; i < part.Length; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(i * sizeof(int)), part[i]);
                    textBytes += _tokenBytes[part[i]];
                }
            }
            RandomAccess.Write(_file!, _buffer.AsSpan(0, part.Length * _width), _position);
            _position += part.Length * _width;
            tokens = tokens[part.Length..];
            _textBytes += textBytes;
            _count += part.Length;
            TokensWritten += part.Length;
        }
    }

    // Fills in the header and hands the shard over to be flushed and renamed after the shards before it.
    private void Complete(SourcePosition next)
    {
        if (_sealing.IsFaulted)
        {
            _sealing.GetAwaiter().GetResult();
        }
        var header = new ShardHeader(_width, _count) { Record = _template with { TextBytes = _textBytes, Next = next } };
        var bytes = new byte[ShardHeader.Bytes];
        header.WriteTo(bytes);
        RandomAccess.Write(_file!, bytes, 0);
        var (file, temporary, target, before) = (_file!, _temporary!, ShardPath(_folder, _prefix, NextIndex), _sealing);
        (_file, _temporary) = (null, null);
        NextIndex++;
        _sealing = Task.Factory.StartNew(() => Seal(before, file, temporary, target), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    // A shard whose predecessor failed to reach its place is not put in place either: shards appear in index order.
    private static void Seal(Task before, SafeFileHandle file, string temporary, string target)
    {
        try
        {
            before.GetAwaiter().GetResult();
            RandomAccess.FlushToDisk(file);
            file.Dispose();
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            file.Dispose();
            File.Delete(temporary);
            throw;
        }
    }
}
