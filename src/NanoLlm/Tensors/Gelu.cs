using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>
/// GELU in GPT-2's tanh approximation (Hendrycks and Gimpel 2016): ½·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³).
/// Computed as the identical x·σ(2u) = x / (1 + e^(−2u)): one exponential and one division per element.
/// </summary>
public static unsafe class Gelu
{
    private const float TwoSqrtTwoOverPi = 1.5957691216057308f;
    private const float Cubic = 0.044715f;
    private const float CubicSlope = 3f * Cubic;

    // Below this many elements one thread does the whole span.
    private const int ChunkSize = 1 << 14;

    // y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    public static void Forward(Span<float> y, ReadOnlySpan<float> x)
    {
        ElementWise.CheckSameLength(y.Length, x.Length);
        fixed (float* yp = y, xp = x)
        {
            var job = new Job { Y = yp, X = xp, Length = x.Length, Width = KernelSettings.VectorWidth };
            ParallelRows.For((x.Length + ChunkSize - 1) / ChunkSize, ChunkSize * 8, &ForwardChunks, &job);
        }
    }

    // dx = dy·(σ(2u) + x·σ(2u)·(1 − σ(2u))·2u′),  u′ = √(2/π)·(1 + 3·0.044715·x²);  dx may be dy (in place)
    public static void Backward(Span<float> dx, ReadOnlySpan<float> x, ReadOnlySpan<float> dy)
    {
        ElementWise.CheckSameLength(dx.Length, x.Length);
        ElementWise.CheckSameLength(dx.Length, dy.Length);
        fixed (float* dxp = dx, xp = x, dyp = dy)
        {
            var job = new Job { Y = dxp, X = xp, Dy = dyp, Length = x.Length, Width = KernelSettings.VectorWidth };
            ParallelRows.For((x.Length + ChunkSize - 1) / ChunkSize, ChunkSize * 8, &BackwardChunks, &job);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardChunks(void* context, int first, int last)
    {
        var job = (Job*)context;
        var (start, length) = job->Range(first, last);
        VectorLoops.Map(job->Width, new ReadOnlySpan<float>(job->X + start, length), new Span<float>(job->Y + start, length), default(ForwardOperator));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardChunks(void* context, int first, int last)
    {
        var job = (Job*)context;
        var (start, length) = job->Range(first, last);
        VectorLoops.Map(
            job->Width, new ReadOnlySpan<float>(job->X + start, length), new ReadOnlySpan<float>(job->Dy + start, length), new Span<float>(job->Y + start, length), default(BackwardOperator));
    }

    private struct Job
    {
        public float* Y;
        public float* X;
        public float* Dy;
        public int Length;
        public int Width;

        public readonly (int Start, int Length) Range(int firstChunk, int lastChunk)
        {
            var start = firstChunk * ChunkSize;
            return (start, Math.Min(lastChunk * ChunkSize, Length) - start);
        }
    }

    // x → x / (1 + e^(−2u))
    private readonly struct ForwardOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => x / (1f + VectorMath.Exp(-TwoSqrtTwoOverPi * x * MathF.FusedMultiplyAdd(Cubic * x, x, 1f)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x) =>
            x / (Vector128<float>.One + VectorMath.Exp(Vector128.Create(-TwoSqrtTwoOverPi) * x * Vector128.FusedMultiplyAdd(Vector128.Create(Cubic) * x, x, Vector128<float>.One)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x) =>
            x / (Vector256<float>.One + VectorMath.Exp(Vector256.Create(-TwoSqrtTwoOverPi) * x * Vector256.FusedMultiplyAdd(Vector256.Create(Cubic) * x, x, Vector256<float>.One)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) =>
            x / (Vector512<float>.One + VectorMath.Exp(Vector512.Create(-TwoSqrtTwoOverPi) * x * Vector512.FusedMultiplyAdd(Vector512.Create(Cubic) * x, x, Vector512<float>.One)));
    }

    // (x, dy) → dy·(s + x·s·(1 − s)·2u′) with s = σ(2u)
    private readonly struct BackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy)
        {
            var s = 1f / (1f + VectorMath.Exp(-TwoSqrtTwoOverPi * x * MathF.FusedMultiplyAdd(Cubic * x, x, 1f)));
            var slope = TwoSqrtTwoOverPi * MathF.FusedMultiplyAdd(CubicSlope * x, x, 1f);
            return dy * MathF.FusedMultiplyAdd(x * s * (1f - s), slope, s);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy)
        {
            var one = Vector128<float>.One;
            var s = one / (one + VectorMath.Exp(Vector128.Create(-TwoSqrtTwoOverPi) * x * Vector128.FusedMultiplyAdd(Vector128.Create(Cubic) * x, x, one)));
            var slope = Vector128.Create(TwoSqrtTwoOverPi) * Vector128.FusedMultiplyAdd(Vector128.Create(CubicSlope) * x, x, one);
            return dy * Vector128.FusedMultiplyAdd(x * s * (one - s), slope, s);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy)
        {
            var one = Vector256<float>.One;
            var s = one / (one + VectorMath.Exp(Vector256.Create(-TwoSqrtTwoOverPi) * x * Vector256.FusedMultiplyAdd(Vector256.Create(Cubic) * x, x, one)));
            var slope = Vector256.Create(TwoSqrtTwoOverPi) * Vector256.FusedMultiplyAdd(Vector256.Create(CubicSlope) * x, x, one);
            return dy * Vector256.FusedMultiplyAdd(x * s * (one - s), slope, s);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy)
        {
            var one = Vector512<float>.One;
            var s = one / (one + VectorMath.Exp(Vector512.Create(-TwoSqrtTwoOverPi) * x * Vector512.FusedMultiplyAdd(Vector512.Create(Cubic) * x, x, one)));
            var slope = Vector512.Create(TwoSqrtTwoOverPi) * Vector512.FusedMultiplyAdd(Vector512.Create(CubicSlope) * x, x, one);
            return dy * Vector512.FusedMultiplyAdd(x * s * (one - s), slope, s);
        }
    }
}
