using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>
/// SwiGLU (Shazeer 2020, as Llama's feed-forward uses it): each row of the input projection holds a gate g and an
/// up projection u of H values each, <c>[g | u]</c>, and the activation is SiLU(g)·u, SiLU(g) = g·σ(g).
/// </summary>
public static unsafe class SwiGlu
{
    // a[r, j] = SiLU(g[r, j])·u[r, j],  [g | u] = h[r, :]   (h [rows, 2H] → a [rows, H])
    public static void Forward(Span<float> a, ReadOnlySpan<float> h, int rows, int hidden)
    {
        Softmax.CheckShape(a.Length, rows, hidden, nameof(a));
        Softmax.CheckShape(h.Length, rows, 2 * hidden, nameof(h));
        fixed (float* ap = a, hp = h)
        {
            var job = new Job { Output = ap, H = hp, Hidden = hidden, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, hidden * 8L, &ForwardRows, &job);
        }
    }

    // dg = da·u·σ(g)·(1 + g·(1 − σ(g)));  du = da·SiLU(g)   (dh = [dg | du], [rows, 2H]; overwritten)
    public static void Backward(Span<float> dh, ReadOnlySpan<float> h, ReadOnlySpan<float> da, int rows, int hidden)
    {
        Softmax.CheckShape(dh.Length, rows, 2 * hidden, nameof(dh));
        Softmax.CheckShape(h.Length, rows, 2 * hidden, nameof(h));
        Softmax.CheckShape(da.Length, rows, hidden, nameof(da));
        fixed (float* dhp = dh, hp = h, dap = da)
        {
            var job = new Job { Output = dhp, H = hp, Da = dap, Hidden = hidden, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, hidden * 12L, &BackwardRows, &job);
        }
    }

    // One row may be computed in place (a at the start of h): each gate element is read before its result is written.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var hidden = job->Hidden;
        for (var r = first; r < last; r++)
        {
            var row = job->H + (2L * r * hidden);
            VectorLoops.Map(
                job->Width, new ReadOnlySpan<float>(row, hidden), new ReadOnlySpan<float>(row + hidden, hidden),
                new Span<float>(job->Output + ((long)r * hidden), hidden), default(GatedOperator));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var hidden = job->Hidden;
        for (var r = first; r < last; r++)
        {
            var offset = 2L * r * hidden;
            var gate = new ReadOnlySpan<float>(job->H + offset, hidden);
            var up = new ReadOnlySpan<float>(job->H + offset + hidden, hidden);
            var da = new ReadOnlySpan<float>(job->Da + ((long)r * hidden), hidden);
            VectorLoops.Map(job->Width, gate, up, da, new Span<float>(job->Output + offset, hidden), default(GateGradientOperator));
            VectorLoops.Map(job->Width, gate, da, new Span<float>(job->Output + offset + hidden, hidden), default(GatedOperator));
        }
    }

    private struct Job
    {
        public float* Output;
        public float* H;
        public float* Da;
        public int Hidden;
        public int Width;
    }

    // (g, u) → g·σ(g)·u = g·u / (1 + e^(−g))
    private readonly struct GatedOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float g, float u) => g * u / (1f + VectorMath.Exp(-g));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> u) => g * u / (Vector128<float>.One + VectorMath.Exp(-g));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> u) => g * u / (Vector256<float>.One + VectorMath.Exp(-g));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> u) => g * u / (Vector512<float>.One + VectorMath.Exp(-g));
    }

    // (g, u, da) → da·u·σ(g)·(1 + g·(1 − σ(g)))
    private readonly struct GateGradientOperator : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float g, float u, float da)
        {
            var s = 1f / (1f + VectorMath.Exp(-g));
            return da * u * s * MathF.FusedMultiplyAdd(g, 1f - s, 1f);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> u, Vector128<float> da)
        {
            var one = Vector128<float>.One;
            var s = one / (one + VectorMath.Exp(-g));
            return da * u * s * Vector128.FusedMultiplyAdd(g, one - s, one);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> u, Vector256<float> da)
        {
            var one = Vector256<float>.One;
            var s = one / (one + VectorMath.Exp(-g));
            return da * u * s * Vector256.FusedMultiplyAdd(g, one - s, one);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> u, Vector512<float> da)
        {
            var one = Vector512<float>.One;
            var s = one / (one + VectorMath.Exp(-g));
            return da * u * s * Vector512.FusedMultiplyAdd(g, one - s, one);
        }
    }
}
