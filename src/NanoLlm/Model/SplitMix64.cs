namespace NanoLlm.Model;

/// <summary>
/// SplitMix64 (Steele et al. 2014): a tiny random generator whose whole state is one number, seeded from a seed and a
/// stream (e.g. the training step). Training draws each step's windows from (seed, step) and dropout its masks from
/// (seed, batch), so a run resumed from a checkpoint draws exactly what the uninterrupted run would have.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(int seed, long stream) => _state = ((ulong)(uint)seed << 32) ^ (ulong)stream ^ 0x9E3779B97F4A7C15UL;

    public ulong NextBits()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number in [0, 1) with 24 random bits, exactly representable as a float.</summary>
    public float NextFloat() => (NextBits() >> 40) * (1f / (1 << 24));

    /// <summary>A number in [0, <paramref name="bound"/>) (Lemire's multiply-shift; the bias is below 2⁻³² for any int bound).</summary>
    public int Next(int bound) => (int)(((NextBits() >> 32) * (ulong)bound) >> 32);

    /// <summary>A number in [0, <paramref name="bound"/>) for bounds beyond an int (Lemire's multiply-shift on 64 bits).</summary>
    public long NextLong(long bound) => (long)Math.BigMul(NextBits(), (ulong)bound, out _);
}
