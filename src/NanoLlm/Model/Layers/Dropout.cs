using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// Inverted dropout (Srivastava et al. 2014): in training each value is zeroed with probability p and the rest scaled
/// by 1/(1−p), so evaluation and generation use the layer as the identity. The mask is drawn from a seed and the batch
/// (see <see cref="SplitMix64"/>), kept for the backward pass, and applied in place. Draw i of the stream depends on i
/// alone (SplitMix64's state moves by a constant each draw), so threads draw their own chunks and vectors their own
/// lanes, and the mask is the one a single sequential stream gives.
/// </summary>
public sealed unsafe class Dropout(float rate)
{
    // Values a thread draws and applies at a time.
    private const int ChunkSize = 4096;

    private float[] _mask = [];
    private bool _active;

    public float Rate { get; } = rate;

    /// <summary>Whether the last <see cref="Forward"/> applied a mask (training with a rate above 0).</summary>
    public bool Active => _active;

    // y = x ⊙ m,  m_i = [u_i ≥ p] / (1 − p)   (in training; y = x otherwise)
    public void Forward(Span<float> x, bool training, int seed, long stream)
    {
        _active = training && Rate > 0;
        if (!_active)
        {
            return;
        }
        if (_mask.Length < x.Length)
        {
            _mask = new float[x.Length];
        }
        fixed (float* xp = x, mp = _mask)
        {
            // u_i = k_i·2⁻²⁴ with k_i the draw's top 24 bits, so u_i ≥ p exactly when k_i ≥ ⌈p·2²⁴⌉ (p·2²⁴ is exact in double).
            var job = new Job
            {
                X = xp,
                Mask = mp,
                Length = x.Length,
                State = new SplitMix64(seed, stream).State,
                Threshold = (ulong)Math.Ceiling(Rate * (double)(1 << 24)),
                Keep = 1f / (1f - Rate),
                Width = KernelSettings.VectorWidth,
            };
            ParallelRows.For((x.Length + ChunkSize - 1) / ChunkSize, ChunkSize * 16L, &ForwardChunks, &job);
        }
    }

    // dx = dy ⊙ m, in place
    public void Backward(Span<float> dy)
    {
        if (!_active)
        {
            return;
        }
        fixed (float* dp = dy, mp = _mask)
        {
            var job = new Job { X = dp, Mask = mp, Length = dy.Length, Width = KernelSettings.VectorWidth };
            ParallelRows.For((dy.Length + ChunkSize - 1) / ChunkSize, ChunkSize, &BackwardChunks, &job);
        }
    }

    // m_i = [k_i ≥ threshold]·keep;  x_i ← x_i·m_i   for i in the chunks [first, last)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardChunks(void* context, int first, int last)
    {
        var job = (Job*)context;
        var end = Math.Min((long)last * ChunkSize, job->Length);
        var x = job->X;
        var mask = job->Mask;
        var keep = job->Keep;
        var i = (long)first * ChunkSize;
        if (job->Width >= 512)
        {
            // Draws i … i+15 as two vectors of 8 states: state₀ + (i + 1 + lane)·γ.
            var step = Vector512.Create(unchecked(SplitMix64.Gamma * 16));
            var lanes = Vector512.Create(1UL, 2, 3, 4, 5, 6, 7, 8) * SplitMix64.Gamma;
            var low = Vector512.Create(job->State + ((ulong)i * SplitMix64.Gamma)) + lanes;
            var high = low + Vector512.Create(unchecked(SplitMix64.Gamma * 8));
            var threshold = Vector512.Create(job->Threshold);
            var (kept, zero) = (Vector512.Create(keep), Vector512<float>.Zero);
            for (; i + 16 <= end; i += 16)
            {
                var draws = Vector512.Narrow(
                    Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(SplitMix64.Mix(low), 40), threshold),
                    Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(SplitMix64.Mix(high), 40), threshold));
                var m = Vector512.ConditionalSelect(draws.AsSingle(), kept, zero);
                m.Store(mask + i);
                (Vector512.Load(x + i) * m).Store(x + i);
                low += step;
                high += step;
            }
        }
        else if (job->Width >= 256)
        {
            var step = Vector256.Create(unchecked(SplitMix64.Gamma * 8));
            var lanes = Vector256.Create(1UL, 2, 3, 4) * SplitMix64.Gamma;
            var low = Vector256.Create(job->State + ((ulong)i * SplitMix64.Gamma)) + lanes;
            var high = low + Vector256.Create(unchecked(SplitMix64.Gamma * 4));
            var threshold = Vector256.Create(job->Threshold);
            var (kept, zero) = (Vector256.Create(keep), Vector256<float>.Zero);
            for (; i + 8 <= end; i += 8)
            {
                var draws = Vector256.Narrow(
                    Vector256.GreaterThanOrEqual(Vector256.ShiftRightLogical(SplitMix64.Mix(low), 40), threshold),
                    Vector256.GreaterThanOrEqual(Vector256.ShiftRightLogical(SplitMix64.Mix(high), 40), threshold));
                var m = Vector256.ConditionalSelect(draws.AsSingle(), kept, zero);
                m.Store(mask + i);
                (Vector256.Load(x + i) * m).Store(x + i);
                low += step;
                high += step;
            }
        }
        for (; i < end; i++)
        {
            mask[i] = SplitMix64.Mix(job->State + ((ulong)(i + 1) * SplitMix64.Gamma)) >> 40 >= job->Threshold ? keep : 0f;
            x[i] *= mask[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardChunks(void* context, int first, int last)
    {
        var job = (Job*)context;
        var start = (long)first * ChunkSize;
        var length = (int)(Math.Min((long)last * ChunkSize, job->Length) - start);
        var dy = new Span<float>(job->X + start, length);
        ElementWise.Multiply(dy, dy, new ReadOnlySpan<float>(job->Mask + start, length));
    }

    private struct Job
    {
        public float* X;
        public float* Mask;
        public long Length;
        public ulong State;
        public ulong Threshold;
        public float Keep;
        public int Width;
    }
}
