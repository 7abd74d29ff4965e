using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>Softmax over each row of a [rows, cols] matrix, with the row maximum subtracted before exponentiating.</summary>
public static unsafe class Softmax
{
    // y[r,:] = exp(x[r,:] − max x[r,:]) / Σ exp(x[r,:] − max x[r,:])
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, int rows, int cols)
    {
        CheckShape(y.Length, rows, cols, nameof(y));
        CheckShape(x.Length, rows, cols, nameof(x));
        fixed (float* yp = y, xp = x)
        {
            var job = new Job { Y = yp, X = xp, Cols = cols, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 4L, &ForwardRows, &job);
        }
    }

    // dx[r,:] += y[r,:] ⊙ (dy[r,:] − Σ dy[r,:]⊙y[r,:])
    public static void Backward(Span<float> dx, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int rows, int cols)
    {
        CheckShape(dx.Length, rows, cols, nameof(dx));
        CheckShape(y.Length, rows, cols, nameof(y));
        CheckShape(dy.Length, rows, cols, nameof(dy));
        fixed (float* dxp = dx, yp = y, dyp = dy)
        {
            var job = new Job { Y = yp, Dx = dxp, Dy = dyp, Cols = cols, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 2L, &BackwardRows, &job);
        }
    }

    // A span may be longer than its shape (a buffer sized for the largest batch); its leading elements are used.
    internal static void CheckShape(int length, int rows, int cols, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (length < (long)rows * cols)
        {
            throw new ArgumentException($"{name} holds {length} floats; [{rows}, {cols}] needs {(long)rows * cols}.", name);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        for (var r = first; r < last; r++)
        {
            var x = new ReadOnlySpan<float>(job->X + ((long)r * job->Cols), job->Cols);
            var y = new Span<float>(job->Y + ((long)r * job->Cols), job->Cols);
            var sum = VectorLoops.MapAndSum(job->Width, x, y, new ExpMinus(VectorLoops.Max(job->Width, x)));
            VectorLoops.Map(job->Width, y, y, new ElementWise.ScaleOperator(1f / sum));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        for (var r = first; r < last; r++)
        {
            var offset = (long)r * job->Cols;
            var y = new ReadOnlySpan<float>(job->Y + offset, job->Cols);
            var dy = new ReadOnlySpan<float>(job->Dy + offset, job->Cols);
            var dx = new Span<float>(job->Dx + offset, job->Cols);
            VectorLoops.Map(job->Width, y, dy, dx, dx, new BackwardOperator(VectorLoops.Dot(job->Width, dy, y)));
        }
    }

    private struct Job
    {
        public float* Y;
        public float* X;
        public float* Dx;
        public float* Dy;
        public int Cols;
        public int Width;
    }

    // x → e^(x − max)
    internal readonly struct ExpMinus(float max) : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => VectorMath.Exp(x - max);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x) => VectorMath.Exp(x - Vector128.Create(max));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x) => VectorMath.Exp(x - Vector256.Create(max));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Exp(x - Vector512.Create(max));
    }

    // (y, dy, dx) → dx + y·(dy − dot)
    private readonly struct BackwardOperator(float dot) : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float y, float dy, float dx) => MathF.FusedMultiplyAdd(y, dy - dot, dx);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> y, Vector128<float> dy, Vector128<float> dx) => Vector128.FusedMultiplyAdd(y, dy - Vector128.Create(dot), dx);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy, Vector256<float> dx) => Vector256.FusedMultiplyAdd(y, dy - Vector256.Create(dot), dx);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy, Vector512<float> dx) => Vector512.FusedMultiplyAdd(y, dy - Vector512.Create(dot), dx);
    }
}
