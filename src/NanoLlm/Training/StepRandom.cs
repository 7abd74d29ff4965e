namespace NanoLlm.Training;

/// <summary>
/// SplitMix64 (Steele et al. 2014), seeded from the run's seed and the step: the windows a step trains on depend only
/// on (seed, step), so a run resumed from a checkpoint draws exactly the batches the uninterrupted run would have.
/// </summary>
internal struct StepRandom
{
    private ulong _state;

    public StepRandom(int seed, long stream) => _state = ((ulong)(uint)seed << 32) ^ (ulong)stream ^ 0x9E3779B97F4A7C15UL;

    public ulong NextBits()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number in [0, <paramref name="bound"/>) (Lemire's multiply-shift; the bias is below 2⁻³² for any int bound).</summary>
    public int Next(int bound) => (int)(((NextBits() >> 32) * (ulong)bound) >> 32);
}
