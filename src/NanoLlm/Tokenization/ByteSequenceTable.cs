using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NanoLlm.Tokenization;

/// <summary>
/// The spellings of a vocabulary's tokens (id → bytes) and their inverse (bytes → id) as one open-addressing hash
/// table over the same bytes, so looking up a piece costs one hash of its bytes and usually one comparison, with no
/// allocation. Ids may have gaps (ids without bytes, such as the places of special tokens). Immutable once built.
/// </summary>
internal sealed class ByteSequenceTable
{
    private const int NoToken = -1;

    // Token id spells _bytes[_starts[id] .. _starts[id + 1]]; an id without a spelling has an empty range.
    private readonly byte[] _bytes;
    private readonly int[] _starts;
    private readonly int[] _slotIds;
    private readonly uint[] _slotHashes;
    private readonly int _mask;

    /// <param name="spellings">Bytes of each id (null where the id has none); no two ids may share bytes.</param>
    /// <exception cref="FormatException">Two ids spell the same bytes, or an id spells nothing.</exception>
    public ByteSequenceTable(IReadOnlyList<byte[]?> spellings)
    {
        _starts = new int[spellings.Count + 1];
        var count = 0;
        for (var id = 0; id < spellings.Count; id++)
        {
            var length = spellings[id]?.Length ?? 0;
            if (spellings[id] is { Length: 0 })
            {
                throw new FormatException($"token {id} spells no bytes");
            }
            count += length > 0 ? 1 : 0;
            _starts[id + 1] = checked(_starts[id] + length);
        }
        _bytes = new byte[_starts[^1]];
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, count * 2));
        _mask = capacity - 1;
        _slotIds = new int[capacity];
        _slotIds.AsSpan().Fill(NoToken);
        _slotHashes = new uint[capacity];
        for (var id = 0; id < spellings.Count; id++)
        {
            if (spellings[id] is not { } spelling)
            {
                continue;
            }
            spelling.CopyTo(_bytes, _starts[id]);
            if (TryGetId(spelling, out var existing))
            {
                throw new FormatException($"tokens {existing} and {id} spell the same bytes");
            }
            var hash = Hash(spelling);
            var slot = (int)hash & _mask;
            while (_slotIds[slot] != NoToken)
            {
                slot = (slot + 1) & _mask;
            }
            _slotIds[slot] = id;
            _slotHashes[slot] = hash;
        }
        Count = count;
    }

    /// <summary>One more than the highest id.</summary>
    public int IdCount => _starts.Length - 1;

    /// <summary>How many ids have a spelling.</summary>
    public int Count { get; }

    /// <summary>The bytes of <paramref name="id"/>: empty for an id without a spelling or outside the table.</summary>
    public ReadOnlySpan<byte> Spelling(int id) =>
        (uint)id < (uint)IdCount ? _bytes.AsSpan(_starts[id], _starts[id + 1] - _starts[id]) : [];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetId(ReadOnlySpan<byte> bytes, out int id)
    {
        var hash = Hash(bytes);
        var slot = (int)hash & _mask;
        while (true)
        {
            id = _slotIds[slot];
            if (id == NoToken)
            {
                return false;
            }
            if (_slotHashes[slot] == hash && Spelling(id).SequenceEqual(bytes))
            {
                return true;
            }
            slot = (slot + 1) & _mask;
        }
    }

    /// <summary>A 64-bit multiply-xorshift hash of 8-byte words, folded to 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ReadOnlySpan<byte> bytes)
    {
        const ulong Multiplier = 0x9E3779B97F4A7C15UL;
        var hash = (ulong)bytes.Length * Multiplier;
        while (bytes.Length >= 8)
        {
            hash = (hash ^ BinaryPrimitives.ReadUInt64LittleEndian(bytes)) * Multiplier;
            hash ^= hash >> 29;
            bytes = bytes[8..];
        }
        if (!bytes.IsEmpty)
        {
            ulong tail = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                tail |= (ulong)bytes[i] << (8 * i);
            }
            hash = (hash ^ tail) * Multiplier;
            hash ^= hash >> 29;
        }
        hash *= 0xBF58476D1CE4E5B9UL;
        return (uint)(hash >> 32);
    }
}
