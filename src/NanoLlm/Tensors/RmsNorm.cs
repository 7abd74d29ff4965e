using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>
/// Root-mean-square normalization over each row of x[rows, cols] (Zhang and Sennrich 2019, as Llama uses it): no mean
/// subtracted, no shift, only a gain; keeps each row's reciprocal RMS for the backward pass.
/// </summary>
public static unsafe class RmsNorm
{
    // ŷ = x·rstd, rstd = 1/√(mean(x²) + ε);  y = ŷ·γ   (per row; rstd[r] kept)
    public static void Forward(
        Span<float> y, Span<float> rstd, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, int rows, int cols, float epsilon = LayerNorm.DefaultEpsilon)
    {
        Softmax.CheckShape(y.Length, rows, cols, nameof(y));
        Softmax.CheckShape(x.Length, rows, cols, nameof(x));
        Softmax.CheckShape(rstd.Length, rows, 1, nameof(rstd));
        Softmax.CheckShape(gamma.Length, 1, cols, nameof(gamma));
        fixed (float* yp = y, rp = rstd, xp = x, gp = gamma)
        {
            var job = new Job { Y = yp, Rstd = rp, X = xp, Gamma = gp, Cols = cols, Epsilon = epsilon, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 2L, &ForwardRows, &job);
        }
    }

    // dx += rstd·(dŷ − ŷ·mean(dŷ·ŷ)) with dŷ = dy·γ;  dγ += Σ_rows dy·ŷ
    public static void Backward(
        Span<float> dx, Span<float> dgamma, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gamma,
        int rows, int cols)
    {
        Softmax.CheckShape(dx.Length, rows, cols, nameof(dx));
        Softmax.CheckShape(dy.Length, rows, cols, nameof(dy));
        Softmax.CheckShape(x.Length, rows, cols, nameof(x));
        Softmax.CheckShape(rstd.Length, rows, 1, nameof(rstd));
        Softmax.CheckShape(gamma.Length, 1, cols, nameof(gamma));
        Softmax.CheckShape(dgamma.Length, 1, cols, nameof(dgamma));
        fixed (float* dxp = dx, dgp = dgamma, dyp = dy, xp = x, rp = rstd, gp = gamma)
        {
            var job = new Job { Y = dxp, Dgamma = dgp, Dy = dyp, X = xp, Rstd = rp, Gamma = gp, Rows = rows, Cols = cols, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 3L, &InputGradientRows, &job);
            // dγ sums over rows, so its threads split the columns instead (16 at a time, a whole vector).
            ParallelRows.For((cols + 15) / 16, rows * 16L, &GainGradientColumns, &job);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var cols = job->Cols;
        var gamma = new ReadOnlySpan<float>(job->Gamma, cols);
        for (var r = first; r < last; r++)
        {
            var x = new ReadOnlySpan<float>(job->X + ((long)r * cols), cols);
            var y = new Span<float>(job->Y + ((long)r * cols), cols);
            var rstd = 1f / MathF.Sqrt((VectorLoops.Dot(job->Width, x, x) / cols) + job->Epsilon);
            job->Rstd[r] = rstd;
            VectorLoops.Map(job->Width, x, gamma, y, new Normalize(rstd));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradientRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var cols = job->Cols;
        var gamma = new ReadOnlySpan<float>(job->Gamma, cols);
        for (var r = first; r < last; r++)
        {
            var offset = (long)r * cols;
            var x = new ReadOnlySpan<float>(job->X + offset, cols);
            var dy = new ReadOnlySpan<float>(job->Dy + offset, cols);
            var dx = new Span<float>(job->Y + offset, cols);
            var rstd = job->Rstd[r];
            var meanGradientDotNormalized = VectorLoops.Sum(job->Width, x, dy, gamma, new GradientDotNormalized(rstd)) / cols;
            VectorLoops.Map(job->Width, x, dy, gamma, dx, dx, new InputGradient(rstd, meanGradientDotNormalized));
        }
    }

    // Each thread sums its columns over all rows in a small buffer of its own and adds the sums to dγ once (as
    // LayerNorm does: no two threads write neighbouring columns row after row).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GainGradientColumns(void* context, int first, int last)
    {
        const int blockColumns = 256;
        var job = (Job*)context;
        var end = Math.Min(last * 16, job->Cols);
        Span<float> gammaBlock = stackalloc float[blockColumns];
        for (var column0 = first * 16; column0 < end; column0 += blockColumns)
        {
            var width = Math.Min(blockColumns, end - column0);
            var gammaSums = gammaBlock[..width];
            gammaSums.Clear();
            for (var r = 0; r < job->Rows; r++)
            {
                var offset = ((long)r * job->Cols) + column0;
                var dy = new ReadOnlySpan<float>(job->Dy + offset, width);
                var x = new ReadOnlySpan<float>(job->X + offset, width);
                VectorLoops.Map(job->Width, x, dy, gammaSums, gammaSums, new GainGradient(job->Rstd[r]));
            }
            var dgamma = new Span<float>(job->Dgamma + column0, width);
            VectorLoops.Map(job->Width, dgamma, gammaSums, dgamma, default(ElementWise.AddOperator));
        }
    }

    private struct Job
    {
        public float* Y;
        public float* Rstd;
        public float* X;
        public float* Gamma;
        public float* Dgamma;
        public float* Dy;
        public int Rows;
        public int Cols;
        public float Epsilon;
        public int Width;
    }

    // (x, γ) → x·rstd·γ
    private readonly struct Normalize(float rstd) : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float gamma) => x * rstd * gamma;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> gamma) => x * rstd * gamma;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> gamma) => x * rstd * gamma;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> gamma) => x * rstd * gamma;
    }

    // (x, dy, γ) → dy·γ·ŷ
    private readonly struct GradientDotNormalized(float rstd) : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float gamma) => dy * gamma * (x * rstd);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> gamma) => dy * gamma * (x * rstd);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> gamma) => dy * gamma * (x * rstd);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> gamma) => dy * gamma * (x * rstd);
    }

    // (x, dy, γ, dx) → dx + rstd·(dy·γ − ŷ·mean(dŷ·ŷ))
    private readonly struct InputGradient(float rstd, float meanGradientDotNormalized) : IQuaternaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float gamma, float dx) =>
            MathF.FusedMultiplyAdd(rstd, (dy * gamma) - (x * rstd * meanGradientDotNormalized), dx);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> gamma, Vector128<float> dx) =>
            Vector128.FusedMultiplyAdd(Vector128.Create(rstd), (dy * gamma) - (x * (rstd * meanGradientDotNormalized)), dx);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> gamma, Vector256<float> dx) =>
            Vector256.FusedMultiplyAdd(Vector256.Create(rstd), (dy * gamma) - (x * (rstd * meanGradientDotNormalized)), dx);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> gamma, Vector512<float> dx) =>
            Vector512.FusedMultiplyAdd(Vector512.Create(rstd), (dy * gamma) - (x * (rstd * meanGradientDotNormalized)), dx);
    }

    // (x, dy, dγ) → dγ + dy·ŷ
    private readonly struct GainGradient(float rstd) : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float dgamma) => MathF.FusedMultiplyAdd(dy, x * rstd, dgamma);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> dgamma) => Vector128.FusedMultiplyAdd(dy, x * rstd, dgamma);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> dgamma) => Vector256.FusedMultiplyAdd(dy, x * rstd, dgamma);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> dgamma) => Vector512.FusedMultiplyAdd(dy, x * rstd, dgamma);
    }
}
