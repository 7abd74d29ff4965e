using System.Buffers.Binary;

namespace NanoLlm.Data;

/// <summary>
/// The 256 little-endian int32 header of llm.c's token shards (dev/data/data_common.py, llmc/dataloader.h): magic,
/// version and token count in slots 0–2, then the tokens as uint16 (magic 20240520, version 1, llm.c's "gpt-2"
/// layout) or as uint32 (magic 20240801, version 7, llm.c's "llama-3" layout, for vocabularies over 65 536 tokens).
/// llm.c leaves slots 3–255 zero and never reads them; NanoLlm records there, behind a marker in slot 3, what it needs
/// to refuse a shard of another tokenizer, to count the text bytes the tokens stand for, and to resume a preparation:
/// <code>
/// 3 marker 'NLLM'   4 vocab size   5 tokenizer fingerprint   6–7 text bytes (int64)   8 end-of-text id (−1: none)
/// 9 preparation fingerprint   10 next source range   11–12 next byte offset (int64)   13 tokens of that chunk already
/// written   14 whether that chunk starts a document
/// </code>
/// A shard without the marker (llm.c's own) is read with the checks its format allows: magic, version, size, ids.
/// </summary>
public sealed record ShardHeader(int TokenWidth, long TokenCount)
{
    public const int Slots = 256;
    public const int Bytes = Slots * sizeof(int);
    public const int Uint16Magic = 20240520;
    public const int Uint16Version = 1;
    public const int Uint32Magic = 20240801;
    public const int Uint32Version = 7;

    // "NLLM" read as a little-endian int32.
    private const int NanoLlmMarker = 0x4D4C4C4E;

    /// <summary>Present when NanoLlm wrote the shard; null for llm.c's own shards.</summary>
    public ShardRecord? Record { get; init; }

    /// <summary>Bytes a token takes: 2 when every id of the vocabulary fits in 16 bits, else 4.</summary>
    public static int WidthFor(int vocabSize) => vocabSize <= ushort.MaxValue + 1 ? sizeof(ushort) : sizeof(uint);

    public long FileLength => Bytes + (TokenCount * TokenWidth);

    public void WriteTo(Span<byte> header)
    {
        header[..Bytes].Clear();
        Span<int> slots = stackalloc int[Slots];
        slots.Clear();
        (slots[0], slots[1]) = TokenWidth == sizeof(ushort) ? (Uint16Magic, Uint16Version) : (Uint32Magic, Uint32Version);
        slots[2] = checked((int)TokenCount);
        if (Record is { } record)
        {
            slots[3] = NanoLlmMarker;
            slots[4] = record.VocabSize;
            slots[5] = (int)record.TokenizerFingerprint;
            (slots[6], slots[7]) = Split(record.TextBytes);
            slots[8] = record.EndOfTextToken ?? -1;
            slots[9] = (int)record.PreparationFingerprint;
            slots[10] = record.Next.Range;
            (slots[11], slots[12]) = Split(record.Next.Offset);
            slots[13] = record.Next.TokensWritten;
            slots[14] = record.Next.StartsDocument ? 1 : 0;
        }
        for (var i = 0; i < Slots; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(header[(i * sizeof(int))..], slots[i]);
        }
    }

    /// <summary>Reads a header, checking what the header alone can tell; <paramref name="path"/> names the shard in errors.</summary>
    /// <exception cref="ShardFileException">Not one of llm.c's two layouts, or a negative count.</exception>
    public static ShardHeader Read(ReadOnlySpan<byte> header, string path)
    {
        if (header.Length < Bytes)
        {
            throw new ShardFileException($"{path}: {header.Length} bytes is shorter than a token shard's {Bytes}-byte header: not a token shard");
        }
        var slots = new int[Slots];
        for (var i = 0; i < Slots; i++)
        {
            slots[i] = BinaryPrimitives.ReadInt32LittleEndian(header[(i * sizeof(int))..]);
        }
        int slot(int i) => slots[i];
        var width = (slot(0), slot(1)) switch
        {
            (Uint16Magic, Uint16Version) => sizeof(ushort),
            (Uint32Magic, Uint32Version) => sizeof(uint),
            (Uint16Magic or Uint32Magic, var version) => throw new ShardFileException(
                $"{path}: token shard version {version} is not supported (uint16 shards are version {Uint16Version}, uint32 shards version {Uint32Version})"),
            (var magic, _) => throw new ShardFileException(
                $"{path}: wrong magic number {magic} (a token shard starts with {Uint16Magic}, or {Uint32Magic} for 32-bit tokens): not a token shard; make prepare writes them"),
        };
        var count = slot(2);
        if (count < 0)
        {
            throw new ShardFileException($"{path}: the header's token count {count} is negative: the shard is corrupt");
        }
        var record = slot(3) != NanoLlmMarker ? null : new ShardRecord(
            VocabSize: slot(4),
            TokenizerFingerprint: (uint)slot(5),
            TextBytes: Join(slot(6), slot(7)),
            EndOfTextToken: slot(8) < 0 ? null : slot(8),
            PreparationFingerprint: (uint)slot(9),
            Next: new SourcePosition(slot(10), Join(slot(11), slot(12)), slot(13), slot(14) != 0));
        return new ShardHeader(width, count) { Record = record };
    }

    private static (int Low, int High) Split(long value) => ((int)value, (int)(value >> 32));

    private static long Join(int low, int high) => ((long)high << 32) | (uint)low;
}

/// <summary>What NanoLlm records in a shard header's spare slots (see <see cref="ShardHeader"/>).</summary>
/// <param name="TokenizerFingerprint">The first 32 bits of the SHA-256 of the tokenizer's metadata.</param>
/// <param name="TextBytes">Bytes of text the shard's tokens stand for (an end-of-text token stands for none).</param>
/// <param name="PreparationFingerprint">Identifies the preparation (tokenizer, inputs, shard size) that wrote the shard.</param>
/// <param name="Next">Where the text of the next shard of the split starts (past the end of the input after the last shard).</param>
public sealed record ShardRecord(
    int VocabSize, uint TokenizerFingerprint, long TextBytes, int? EndOfTextToken, uint PreparationFingerprint, SourcePosition Next);

/// <summary>
/// A point in a preparation's input: the chunk starting at byte <paramref name="Offset"/> of source range
/// <paramref name="Range"/>, of whose tokens the first <paramref name="TokensWritten"/> are already in a shard.
/// </summary>
public readonly record struct SourcePosition(int Range, long Offset, int TokensWritten, bool StartsDocument);

/// <summary>32-bit fingerprints recorded in shard headers.</summary>
public static class Fingerprint
{
    /// <summary>The first 32 bits of the SHA-256 of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static uint Of(string text) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
