using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>The small element-wise operations the layers and optimizers need: sums, scaling, AXPY, norms.</summary>
public static unsafe class ElementWise
{
    /// <summary>Floats of one chunk of <see cref="ChunkedSumOfSquares"/>.</summary>
    public const int SquaresChunk = 1 << 16;

    // Floats one thread clears at a time.
    private const int ClearChunk = 1 << 16;

    [ThreadStatic]
    private static double[]? _chunkSums;

    // y = 0, threads clearing fixed chunks (a model's gradients: hundreds of megabytes for GPT-2)
    public static void Clear(Span<float> y)
    {
        fixed (float* yp = y)
        {
            var job = new ClearJob { Y = yp, Length = y.Length };
            ParallelRows.For((y.Length + ClearChunk - 1) / ClearChunk, ClearChunk, &ClearChunks, &job);
        }
    }

    // y += x
    public static void Add(Span<float> y, ReadOnlySpan<float> x)
    {
        CheckSameLength(y.Length, x.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, y, x, y, default(AddOperator));
    }

    // z = x + y
    public static void Add(Span<float> z, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        CheckSameLength(z.Length, x.Length);
        CheckSameLength(z.Length, y.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, y, z, default(AddOperator));
    }

    // z = x ⊙ y
    public static void Multiply(Span<float> z, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        CheckSameLength(z.Length, x.Length);
        CheckSameLength(z.Length, y.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, y, z, default(MultiplyOperator));
    }

    // y = α·y
    public static void Scale(Span<float> y, float alpha) => VectorLoops.Map(KernelSettings.VectorWidth, y, y, new ScaleOperator(alpha));

    // y += α·x
    public static void Axpy(Span<float> y, float alpha, ReadOnlySpan<float> x)
    {
        CheckSameLength(y.Length, x.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, y, y, new AxpyOperator(alpha));
    }

    // Σ x·y
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        CheckSameLength(x.Length, y.Length);
        return VectorLoops.Dot(KernelSettings.VectorWidth, x, y);
    }

    /// <summary>
    /// <see cref="SumOfSquares(ReadOnlySpan{float})"/> over fixed chunks of <see cref="SquaresChunk"/> floats, which threads share, and the
    /// chunks' sums added in order: the same bits for any thread count (and <see cref="SumOfSquares(ReadOnlySpan{float})"/>'s for one chunk).
    /// </summary>
    // Σ_chunks (Σ x² over the chunk), in double
    public static double ChunkedSumOfSquares(ReadOnlySpan<float> x)
    {
        var chunks = (x.Length + SquaresChunk - 1) / SquaresChunk;
        if (chunks <= 1)
        {
            return SumOfSquares(x);
        }
        if (_chunkSums is null || _chunkSums.Length < chunks)
        {
            _chunkSums = GC.AllocateUninitializedArray<double>(chunks, pinned: true);
        }
        fixed (float* xp = x)
        fixed (double* sums = _chunkSums)
        {
            var job = new SquaresJob { X = xp, Sums = sums, Length = x.Length, Width = KernelSettings.VectorWidth };
            ParallelRows.For(chunks, SquaresChunk, &SquaresChunks, &job);
            double sum = 0;
            for (var i = 0; i < chunks; i++)
            {
                sum += sums[i];
            }
            return sum;
        }
    }

    // Σ x², each square and the sum in double (for gradient norms over millions of parameters)
    public static double SumOfSquares(ReadOnlySpan<float> x) => SumOfSquares(x, KernelSettings.VectorWidth);

    private static double SumOfSquares(ReadOnlySpan<float> x, int width)
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        var length = (nuint)x.Length;
        nuint i = 0;
        double sum = 0;
        if (width >= 512 && length >= 16)
        {
            var (even, odd) = (Vector512<double>.Zero, Vector512<double>.Zero);
            for (; i + 16 <= length; i += 16)
            {
                var (lower, upper) = Vector512.Widen(Vector512.LoadUnsafe(ref xs, i));
                even = Vector512.FusedMultiplyAdd(lower, lower, even);
                odd = Vector512.FusedMultiplyAdd(upper, upper, odd);
            }
            sum += Vector512.Sum(even + odd);
        }
        if (width >= 256 && length - i >= 8)
        {
            var (even, odd) = (Vector256<double>.Zero, Vector256<double>.Zero);
            for (; i + 8 <= length; i += 8)
            {
                var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref xs, i));
                even = Vector256.FusedMultiplyAdd(lower, lower, even);
                odd = Vector256.FusedMultiplyAdd(upper, upper, odd);
            }
            sum += Vector256.Sum(even + odd);
        }
        if (width >= 128 && length - i >= 4)
        {
            var (even, odd) = (Vector128<double>.Zero, Vector128<double>.Zero);
            for (; i + 4 <= length; i += 4)
            {
                var (lower, upper) = Vector128.Widen(Vector128.LoadUnsafe(ref xs, i));
                even = Vector128.FusedMultiplyAdd(lower, lower, even);
                odd = Vector128.FusedMultiplyAdd(upper, upper, odd);
            }
            sum += Vector128.Sum(even + odd);
        }
        for (; i < length; i++)
        {
            double value = x[(int)i];
            sum += value * value;
        }
        return sum;
    }

    private static void ClearChunks(void* context, int first, int last)
    {
        var job = (ClearJob*)context;
        var start = (long)first * ClearChunk;
        new Span<float>(job->Y + start, (int)(Math.Min((long)last * ClearChunk, job->Length) - start)).Clear();
    }

    private static void SquaresChunks(void* context, int first, int last)
    {
        var job = (SquaresJob*)context;
        for (var chunk = first; chunk < last; chunk++)
        {
            var start = (long)chunk * SquaresChunk;
            job->Sums[chunk] = SumOfSquares(new ReadOnlySpan<float>(job->X + start, (int)Math.Min(SquaresChunk, job->Length - start)), job->Width);
        }
    }

    internal static void CheckSameLength(int expected, int actual)
    {
        if (expected != actual)
        {
            throw new ArgumentException($"Spans of {expected} and {actual} floats: the lengths must match.");
        }
    }

    private struct SquaresJob
    {
        public float* X;
        public double* Sums;
        public int Length;
        public int Width;
    }

    private struct ClearJob
    {
        public float* Y;
        public int Length;
    }

    // (x, y) → x + y
    internal readonly struct AddOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float y) => x + y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x + y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + y;
    }

    private readonly struct MultiplyOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float y) => x * y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x * y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
    }

    // x → α·x
    internal readonly struct ScaleOperator(float alpha) : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => alpha * x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x) => alpha * x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x) => alpha * x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => alpha * x;
    }

    // (x, y) → α·x + y, fused
    internal readonly struct AxpyOperator(float alpha) : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float y) => MathF.FusedMultiplyAdd(alpha, x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => Vector128.FusedMultiplyAdd(Vector128.Create(alpha), x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.FusedMultiplyAdd(Vector256.Create(alpha), x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.FusedMultiplyAdd(Vector512.Create(alpha), x, y);
    }
}
