namespace NanoLlm.Tokenization;

/// <summary>A set of ordered pairs of bytes, one bit each.</summary>
internal sealed class BytePairSet
{
    private readonly ulong[] _bits = new ulong[256 * 256 / 64];

    public void Add(byte left, byte right)
    {
        var index = (left << 8) | right;
        _bits[index >> 6] |= 1UL << index;
    }

    public bool Contains(byte left, byte right)
    {
        var index = (left << 8) | right;
        return (_bits[index >> 6] & (1UL << index)) != 0;
    }
}
