using System.Diagnostics;
using System.Numerics;

namespace NanoLlm.Tokenization;

/// <summary>
/// The rank of each merge, looked up by its pair of tokens. Pairs of two bytes, the ones every text starts with, sit in
/// a dense 256 × 256 table; all pairs sit in an open-addressing hash table (linear probing, at most half full, a
/// Fibonacci hash of the pair's key), so a lookup is a multiply, a shift and most often one probe, with no allocation.
/// </summary>
internal sealed class MergeRanks
{
    /// <summary>What a lookup gives for a pair that has no merge.</summary>
    public const int None = -1;

    // No merge has key 0xFFFF_FFFF: a merge only joins tokens made before it, so neither of its tokens is 65 535.
    private const uint EmptyKey = uint.MaxValue;
    private const ushort NoByteRank = ushort.MaxValue;

    private readonly Slot[] _slots;
    private readonly int _shift;
    private readonly ushort[] _byteRanks = new ushort[256 * 256];

    public MergeRanks(ReadOnlySpan<TokenPair> merges)
    {
        var size = BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, 2 * merges.Length));
        _slots = new Slot[size];
        _shift = 64 - BitOperations.Log2(size);
        _slots.AsSpan().Fill(new Slot { Key = EmptyKey });
        _byteRanks.AsSpan().Fill(NoByteRank);
        for (var rank = 0; rank < merges.Length; rank++)
        {
            var (left, right) = merges[rank];
            var key = merges[rank].Key;
            var slot = SlotOf(key);
            while (_slots[slot].Key != EmptyKey)
            {
                Debug.Assert(_slots[slot].Key != key, "a pair has two merges");
                slot = (slot + 1) & (_slots.Length - 1);
            }
            _slots[slot] = new Slot { Key = key, Rank = rank };
            if (left < Bpe.ByteCount && right < Bpe.ByteCount)
            {
                _byteRanks[(left << 8) | right] = (ushort)rank;
            }
        }
    }

    /// <summary>The rank of the merge of (<paramref name="left"/>, <paramref name="right"/>), or <see cref="None"/>.</summary>
    public int Of(int left, int right)
    {
        var key = ((uint)left << 16) | (uint)right;
        var mask = _slots.Length - 1;
        for (var slot = SlotOf(key); ; slot = (slot + 1) & mask)
        {
            var found = _slots[slot];
            if (found.Key == key)
            {
                return found.Rank;
            }
            if (found.Key == EmptyKey)
            {
                return None;
            }
        }
    }

    /// <summary>The rank of the merge of two bytes, or <see cref="None"/>.</summary>
    public int OfBytes(byte left, byte right)
    {
        var rank = _byteRanks[(left << 8) | right];
        return rank == NoByteRank ? None : rank;
    }

    private int SlotOf(uint key) => (int)((key * 0x9E37_79B9_7F4A_7C15UL) >> _shift);

    private struct Slot
    {
        public uint Key;
        public int Rank;
    }
}
