using System.Runtime.Intrinsics;

namespace NanoLlm.Model;

/// <summary>
/// SplitMix64 (Steele et al. 2014): a tiny random generator whose whole state is one number, seeded from a seed and a
/// stream (e.g. the training step). Training draws each step's windows from (seed, step) and dropout its masks from
/// (seed, batch), so a run resumed from a checkpoint draws exactly what the uninterrupted run would have.
/// </summary>
internal struct SplitMix64
{
    /// <summary>How far the state moves each draw: draw i (from 0) of a generator is <c>Mix(State + (i + 1)·Gamma)</c>.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private const ulong MixFirst = 0xBF58476D1CE4E5B9UL;
    private const ulong MixSecond = 0x94D049BB133111EBUL;

    private ulong _state;

    public SplitMix64(int seed, long stream) => _state = ((ulong)(uint)seed << 32) ^ (ulong)stream ^ Gamma;

    /// <summary>The state before the next draw.</summary>
    public readonly ulong State => _state;

    public ulong NextBits() => Mix(_state += Gamma);

    /// <summary>SplitMix64's output function: a state's bits, mixed.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * MixFirst;
        z = (z ^ (z >> 27)) * MixSecond;
        return z ^ (z >> 31);
    }

    /// <summary><see cref="Mix(ulong)"/> on each lane.</summary>
    public static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * MixFirst;
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * MixSecond;
        return z ^ Vector512.ShiftRightLogical(z, 31);
    }

    /// <summary><see cref="Mix(ulong)"/> on each lane.</summary>
    public static Vector256<ulong> Mix(Vector256<ulong> z)
    {
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * MixFirst;
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * MixSecond;
        return z ^ Vector256.ShiftRightLogical(z, 31);
    }

    /// <summary>A number in [0, 1) with 24 random bits, exactly representable as a float.</summary>
    public float NextFloat() => (NextBits() >> 40) * (1f / (1 << 24));

    /// <summary>A number in [0, <paramref name="bound"/>) (Lemire's multiply-shift; the bias is below 2⁻³² for any int bound).</summary>
    public int Next(int bound) => (int)(((NextBits() >> 32) * (ulong)bound) >> 32);

    /// <summary>A number in [0, <paramref name="bound"/>) for bounds beyond an int (Lemire's multiply-shift on 64 bits).</summary>
    public long NextLong(long bound) => (long)Math.BigMul(NextBits(), (ulong)bound, out _);
}
