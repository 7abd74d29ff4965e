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

    /// <summary>
    /// Attention's masked softmax, in place, over <paramref name="matrices"/> [T, T] score matrices (row i is position
    /// i): each row's softmax over its columns 0..i, zeros after (the future), in one call over all rows.
    /// </summary>
    // S[m,i,:] ← (e^(S[m,i,j] − max_{k≤i} S[m,i,k]) / Σ_{k≤i} e^(S[m,i,k] − max) if j ≤ i, else 0)
    public static void CausalForward(Span<float> scores, int matrices, int t)
    {
        CheckShape(scores.Length, matrices * t, t, nameof(scores));
        fixed (float* sp = scores)
        {
            var job = new Job { Y = sp, Cols = t, Width = KernelSettings.VectorWidth };
            ParallelRows.For(matrices * t, t * 2L, &CausalForwardRows, &job);
        }
    }

    /// <summary>
    /// The backward pass of <see cref="CausalForward"/>, in place: <paramref name="grads"/> holds ∂L/∂P on entry and
    /// ∂L/∂S on return (zero where the mask was).
    /// </summary>
    // dS[m,i,j] = P[m,i,j]·(dP[m,i,j] − Σ_{k≤i} dP[m,i,k]·P[m,i,k]) for j ≤ i, else 0
    public static void CausalBackward(Span<float> grads, ReadOnlySpan<float> probabilities, int matrices, int t)
    {
        CheckShape(grads.Length, matrices * t, t, nameof(grads));
        CheckShape(probabilities.Length, matrices * t, t, nameof(probabilities));
        fixed (float* gp = grads, pp = probabilities)
        {
            var job = new Job { Y = pp, Dy = gp, Cols = t, Width = KernelSettings.VectorWidth };
            ParallelRows.For(matrices * t, t, &CausalBackwardRows, &job);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CausalForwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var t = job->Cols;
        for (var r = first; r < last; r++)
        {
            CausalForwardRow(new Span<float>(job->Y + ((long)r * t), t), (r % t) + 1, job->Width);
        }
    }

    // One row of CausalForward, in place: the softmax of its first `visible` scores, zeros after.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CausalForwardRow(Span<float> row, int visible, int width)
    {
        var scores = row[..visible];
        var sum = VectorLoops.MapAndSum(width, scores, scores, new ExpMinus(VectorLoops.Max(width, scores)));
        VectorLoops.Map(width, scores, scores, new ElementWise.ScaleOperator(1f / sum));
        row[visible..].Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CausalBackwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var t = job->Cols;
        for (var r = first; r < last; r++)
        {
            var offset = (long)r * t;
            CausalBackwardRow(new Span<float>(job->Dy + offset, t), new ReadOnlySpan<float>(job->Y + offset, t), (r % t) + 1, job->Width);
        }
    }

    // One row of CausalBackward, in place over the row's ∂L/∂P: ∂L/∂S over its first `visible` columns, zeros after.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CausalBackwardRow(Span<float> row, ReadOnlySpan<float> probabilities, int visible, int width)
    {
        var grads = row[..visible];
        var visibleProbabilities = probabilities[..visible];
        VectorLoops.Map(width, visibleProbabilities, grads, grads, new CausalBackwardOperator(VectorLoops.Dot(width, grads, visibleProbabilities)));
        row[visible..].Clear();
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

    // (p, dp) → p·(dp − dot)
    private readonly struct CausalBackwardOperator(float dot) : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float p, float dp) => p * (dp - dot);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> p, Vector128<float> dp) => p * (dp - Vector128.Create(dot));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> p, Vector256<float> dp) => p * (dp - Vector256.Create(dot));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> p, Vector512<float> dp) => p * (dp - Vector512.Create(dot));
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
