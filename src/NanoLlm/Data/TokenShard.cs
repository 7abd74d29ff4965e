using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NanoLlm.Data;

/// <summary>
/// One token shard opened for reading windows. Windows are read with positioned reads (llm.c's dataloader seeks and
/// freads the same way) rather than through a memory map of the whole file: a map's resident size grows by every page
/// a random window faults in, and by the pages the kernel maps around it, until it approaches the shard's size, where
/// a read leaves those pages in the page cache only (nanoGPT re-creates its np.memmap every batch for this reason).
/// Opening checks everything: header, size, and every token id against the vocabulary. Tokens are little-endian.
/// </summary>
public sealed class TokenShard : TokenSource, IDisposable
{
    private const int ScanBytes = 1 << 20;

    private readonly SafeFileHandle _handle;
    private byte[] _buffer = [];

    private TokenShard(string path, SafeFileHandle handle, ShardHeader header)
    {
        Path = path;
        _handle = handle;
        Header = header;
    }

    public string Path { get; }

    public ShardHeader Header { get; }

    public override long Length => Header.TokenCount;

    /// <summary>
    /// Opens a shard for a run whose tokenizer has <paramref name="vocabSize"/> tokens and the given fingerprint
    /// (<see cref="ShardRecord.TokenizerFingerprint"/>), refusing it with a one-line <see cref="ShardFileException"/>
    /// when its magic or version is wrong, its size does not match its token count, a token id is not below
    /// <paramref name="vocabSize"/>, or its header records another tokenizer.
    /// </summary>
    public static TokenShard Open(string path, int vocabSize, uint tokenizerFingerprint)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ShardFileException($"{path}: cannot read the token shard ({e.Message})", e);
        }
        try
        {
            var shard = new TokenShard(path, handle, ReadHeader(handle, path));
            shard.Validate(vocabSize, tokenizerFingerprint);
            return shard;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads the header of the shard at <paramref name="path"/> and checks it against the file's size.</summary>
    public static ShardHeader ReadHeader(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(handle, path);
    }

    public override void Read(long offset, Span<int> destination)
    {
        var width = Header.TokenWidth;
        var bytes = destination.Length * width;
        if (_buffer.Length < bytes)
        {
            _buffer = new byte[bytes];
        }
        var span = _buffer.AsSpan(0, bytes);
        ReadExactly(ShardHeader.Bytes + (offset * width), span);
        if (width == sizeof(ushort))
        {
            var tokens = MemoryMarshal.Cast<byte, ushort>(span);
            for (var t = 0; t < destination.Length; t++)
            {
                destination[t] = tokens[t];
            }
        }
        else
        {
            MemoryMarshal.Cast<byte, int>(span).CopyTo(destination);
        }
    }

    public void Dispose() => _handle.Dispose();

    private static ShardHeader ReadHeader(SafeFileHandle handle, string path)
    {
        var bytes = new byte[ShardHeader.Bytes];
        var read = RandomAccess.Read(handle, bytes, 0);
        var header = ShardHeader.Read(bytes.AsSpan(0, read), path);
        var size = RandomAccess.GetLength(handle);
        if (size != header.FileLength)
        {
            throw new ShardFileException(
                $"{path}: the header says {header.TokenCount} tokens of {header.TokenWidth} bytes ({header.FileLength} bytes with the header), the file has {size} bytes: the shard is truncated or corrupt");
        }
        return header;
    }

    private void Validate(int vocabSize, uint tokenizerFingerprint)
    {
        if (Header.Record is { } record)
        {
            if (record.VocabSize != vocabSize)
            {
                throw new ShardFileException(
                    $"{Path}: written for a vocabulary of {record.VocabSize} tokens, the run's has {vocabSize}: prepare the shards again with this run file's tokenizer");
            }
            if (record.TokenizerFingerprint != tokenizerFingerprint)
            {
                throw new ShardFileException(
                    $"{Path}: written by another tokenizer (fingerprint {record.TokenizerFingerprint:x8}, the run's is {tokenizerFingerprint:x8}): prepare the shards again with this run file's tokenizer");
            }
        }
        var (offset, position) = (0L, (long)ShardHeader.Bytes);
        var buffer = new byte[ScanBytes];
        while (offset < Length)
        {
            var count = (int)Math.Min(ScanBytes / Header.TokenWidth, Length - offset);
            var span = buffer.AsSpan(0, count * Header.TokenWidth);
            ReadExactly(position, span);
            var bad = Header.TokenWidth == sizeof(ushort)
                ? FirstAtLeast(MemoryMarshal.Cast<byte, ushort>(span), (uint)vocabSize)
                : FirstAtLeast(MemoryMarshal.Cast<byte, uint>(span), (uint)vocabSize);
            if (bad >= 0)
            {
                var token = Header.TokenWidth == sizeof(ushort) ? MemoryMarshal.Cast<byte, ushort>(span)[bad] : MemoryMarshal.Cast<byte, uint>(span)[bad];
                throw new ShardFileException(
                    $"{Path}: token {offset + bad} has id {token}, not below the vocabulary size {vocabSize}: the shard was written for another vocabulary or is corrupt");
            }
            offset += count;
            position += span.Length;
        }
    }

    // The index of the first token ≥ limit, or −1: a vectorized maximum per block, the scalar search only on a hit.
    private static int FirstAtLeast<T>(ReadOnlySpan<T> tokens, uint limit)
        where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>
    {
        if (limit > uint.CreateTruncating(T.AllBitsSet))
        {
            return -1;
        }
        var bound = T.CreateTruncating(limit);
        var i = 0;
        var vectors = MemoryMarshal.Cast<T, Vector<T>>(tokens);
        if (Vector.IsHardwareAccelerated)
        {
            var highest = Vector<T>.Zero;
            foreach (var vector in vectors)
            {
                highest = Vector.Max(highest, vector);
            }
            var any = false;
            for (var lane = 0; lane < Vector<T>.Count; lane++)
            {
                any |= highest[lane] >= bound;
            }
            i = any ? 0 : vectors.Length * Vector<T>.Count;
        }
        for (; i < tokens.Length; i++)
        {
            if (tokens[i] >= bound)
            {
                return i;
            }
        }
        return -1;
    }

    private void ReadExactly(long position, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(_handle, destination, position);
            if (read == 0)
            {
                throw new ShardFileException($"{Path}: the file ended early: the shard is truncated");
            }
            destination = destination[read..];
            position += read;
        }
    }
}
