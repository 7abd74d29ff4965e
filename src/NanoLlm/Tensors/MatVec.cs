using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoLlm.Tensors;

/// <summary>
/// A matrix times one vector, the whole of generation's arithmetic: every weight is read once per token, so the
/// kernel streams W's rows from memory and the speed is the memory's. The output rows are split across threads (each
/// row one dot product, computed the same way whatever the split), which brings a second core's share of bandwidth.
/// One core keeps more of the memory's bandwidth busy when it reads four rows at once, as four streams, and asks for
/// each stream's weights 1 KiB before it reads them (software prefetch).
/// </summary>
public static unsafe class MatVec
{
    // How many 64-float steps ahead of each of the four rows being read its weights are prefetched: 1 KiB a row.
    private const int PrefetchSteps = 4;

    // y[N] = W[N,K]·x[K] + b   (b empty: no bias)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, int outputs, int inputs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, outputs, nameof(y));
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, inputs, nameof(x));
        ArgumentOutOfRangeException.ThrowIfLessThan(w.Length, (long)outputs * inputs, nameof(w));
        if (!b.IsEmpty)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(b.Length, outputs, nameof(b));
        }
        fixed (float* yp = y, xp = x, wp = w, bp = b)
        {
            var job = new Job { Y = yp, X = xp, W = wp, B = b.IsEmpty ? null : bp, Inputs = inputs, Width = KernelSettings.VectorWidth };
            ParallelRows.For(outputs, inputs, &Rows, &job);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var x = new ReadOnlySpan<float>(job->X, job->Inputs);
        var j = first;
        if (job->Width >= 512 && job->Inputs >= 64)
        {
            for (; j + 4 <= last; j += 4)
            {
                FourRows(job, j);
            }
        }
        for (; j < last; j++)
        {
            job->Y[j] = VectorLoops.Dot(job->Width, x, Row(job, j)) + Bias(job, j);
        }
    }

    // y[j..j+4) = W[j..j+4)·x + b: Dot's 64-float steps over the four rows together (x loaded once for all four), each
    // row in its own four accumulators, then each row finished by Dot's own tail: every output is Dot's to the bit.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourRows(Job* job, int j)
    {
        var x = job->X;
        var k = job->Inputs;
        var r0 = job->W + ((long)j * k);
        var r1 = r0 + k;
        var r2 = r1 + k;
        var r3 = r2 + k;
        // Each step reads 64 floats (4 cache lines) of each row; each row's lines PrefetchSteps steps later are
        // prefetched meanwhile, and past the row's end those are the same row of the next four.
        var steps = k / 64;
        var rowBytes = 4L * k;
        var (a0, a1, a2, a3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        var (b0, b1, b2, b3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        var (c0, c1, c2, c3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        var (d0, d1, d2, d3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        nuint i = 0;
        for (var step = 0; step < steps; step++, i += 64)
        {
            if (Sse.IsSupported)
            {
                var target = step + PrefetchSteps;
                var ahead = (byte*)(r0 + ((long)target * 64) + (target >= steps ? 3L * k : 0));
                Prefetch(ahead);
                Prefetch(ahead + rowBytes);
                Prefetch(ahead + (2 * rowBytes));
                Prefetch(ahead + (3 * rowBytes));
            }
            var (x0, x1, x2, x3) = (Vector512.Load(x + i), Vector512.Load(x + i + 16), Vector512.Load(x + i + 32), Vector512.Load(x + i + 48));
            a0 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r0 + i), a0);
            a1 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r0 + i + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(x2, Vector512.Load(r0 + i + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(x3, Vector512.Load(r0 + i + 48), a3);
            b0 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r1 + i), b0);
            b1 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r1 + i + 16), b1);
            b2 = Vector512.FusedMultiplyAdd(x2, Vector512.Load(r1 + i + 32), b2);
            b3 = Vector512.FusedMultiplyAdd(x3, Vector512.Load(r1 + i + 48), b3);
            c0 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r2 + i), c0);
            c1 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r2 + i + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(x2, Vector512.Load(r2 + i + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(x3, Vector512.Load(r2 + i + 48), c3);
            d0 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r3 + i), d0);
            d1 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r3 + i + 16), d1);
            d2 = Vector512.FusedMultiplyAdd(x2, Vector512.Load(r3 + i + 32), d2);
            d3 = Vector512.FusedMultiplyAdd(x3, Vector512.Load(r3 + i + 48), d3);
        }
        var width = job->Width;
        var xs = new ReadOnlySpan<float>(x, k);
        job->Y[j] = VectorLoops.FinishDot512(width, xs, new ReadOnlySpan<float>(r0, k), i, a0, a1, a2, a3) + Bias(job, j);
        job->Y[j + 1] = VectorLoops.FinishDot512(width, xs, new ReadOnlySpan<float>(r1, k), i, b0, b1, b2, b3) + Bias(job, j + 1);
        job->Y[j + 2] = VectorLoops.FinishDot512(width, xs, new ReadOnlySpan<float>(r2, k), i, c0, c1, c2, c3) + Bias(job, j + 2);
        job->Y[j + 3] = VectorLoops.FinishDot512(width, xs, new ReadOnlySpan<float>(r3, k), i, d0, d1, d2, d3) + Bias(job, j + 3);
    }

    // The 4 cache lines of 64 floats from p, into every cache level.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(byte* p)
    {
        Sse.Prefetch0(p);
        Sse.Prefetch0(p + 64);
        Sse.Prefetch0(p + 128);
        Sse.Prefetch0(p + 192);
    }

    private static ReadOnlySpan<float> Row(Job* job, int j) => new(job->W + ((long)j * job->Inputs), job->Inputs);

    private static float Bias(Job* job, int j) => job->B is null ? 0f : job->B[j];

    private struct Job
    {
        public float* Y;
        public float* X;
        public float* W;
        public float* B;
        public int Inputs;
        public int Width;
    }
}
