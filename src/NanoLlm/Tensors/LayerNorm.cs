using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>
/// Layer normalization over each row of x[rows, cols] (Ba et al. 2016), keeping each row's mean and reciprocal
/// standard deviation for the backward pass. The variance is the mean squared deviation from the mean (two passes,
/// as PyTorch's biased estimate), not E[x²] − E[x]², which cancels badly when the mean is large.
/// </summary>
public static unsafe class LayerNorm
{
    public const float DefaultEpsilon = 1e-5f;

    // Below this many element operations a thread does not pay for waking it (as ParallelRows).
    private const long MinWorkPerThread = 1L << 16;

    // ŷ = (x − μ)·rstd, rstd = 1/√(var + ε);  y = ŷ·γ + β   (per row; mean[r] = μ, rstd[r] kept)
    public static void Forward(
        Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        int rows, int cols, float epsilon = DefaultEpsilon)
    {
        Softmax.CheckShape(y.Length, rows, cols, nameof(y));
        Softmax.CheckShape(x.Length, rows, cols, nameof(x));
        Softmax.CheckShape(mean.Length, rows, 1, nameof(mean));
        Softmax.CheckShape(rstd.Length, rows, 1, nameof(rstd));
        Softmax.CheckShape(gamma.Length, 1, cols, nameof(gamma));
        Softmax.CheckShape(beta.Length, 1, cols, nameof(beta));
        fixed (float* yp = y, mp = mean, rp = rstd, xp = x, gp = gamma, bp = beta)
        {
            var job = new Job { Y = yp, Mean = mp, Rstd = rp, X = xp, Gamma = gp, Beta = bp, Rows = rows, Cols = cols, Epsilon = epsilon, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 3L, &ForwardRows, &job);
        }
    }

    // s = a + b;  y = (s − μ)·rstd·γ + β   (a residual addition and the LayerNorm after it, row by row in one pass: the
    // same numbers as ElementWise.Add then Forward, the sum still in cache when it is normalized)
    public static void AddForward(
        Span<float> sum, Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, int rows, int cols, float epsilon = DefaultEpsilon)
    {
        Softmax.CheckShape(sum.Length, rows, cols, nameof(sum));
        Softmax.CheckShape(a.Length, rows, cols, nameof(a));
        Softmax.CheckShape(b.Length, rows, cols, nameof(b));
        Softmax.CheckShape(y.Length, rows, cols, nameof(y));
        Softmax.CheckShape(mean.Length, rows, 1, nameof(mean));
        Softmax.CheckShape(rstd.Length, rows, 1, nameof(rstd));
        Softmax.CheckShape(gamma.Length, 1, cols, nameof(gamma));
        Softmax.CheckShape(beta.Length, 1, cols, nameof(beta));
        fixed (float* yp = y, mp = mean, rp = rstd, sp = sum, ap = a, bp = b, gp = gamma, betap = beta)
        {
            var job = new Job { Y = yp, Mean = mp, Rstd = rp, X = sp, A = ap, B = bp, Gamma = gp, Beta = betap, Rows = rows, Cols = cols, Epsilon = epsilon, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 4L, &ForwardRows, &job);
        }
    }

    // dx += rstd·(dŷ − mean(dŷ) − ŷ·mean(dŷ·ŷ)) with dŷ = dy·γ;  dγ += Σ_rows dy·ŷ;  dβ += Σ_rows dy
    public static void Backward(
        Span<float> dx, Span<float> dgamma, Span<float> dbeta, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gamma, int rows, int cols)
    {
        Softmax.CheckShape(dx.Length, rows, cols, nameof(dx));
        Softmax.CheckShape(dy.Length, rows, cols, nameof(dy));
        Softmax.CheckShape(x.Length, rows, cols, nameof(x));
        Softmax.CheckShape(mean.Length, rows, 1, nameof(mean));
        Softmax.CheckShape(rstd.Length, rows, 1, nameof(rstd));
        Softmax.CheckShape(gamma.Length, 1, cols, nameof(gamma));
        Softmax.CheckShape(dgamma.Length, 1, cols, nameof(dgamma));
        Softmax.CheckShape(dbeta.Length, 1, cols, nameof(dbeta));
        fixed (float* dxp = dx, dgp = dgamma, dbp = dbeta, dyp = dy, xp = x, mp = mean, rp = rstd, gp = gamma)
        {
            // One call for both: part i takes the i-th range of rows for dx and, since dγ and dβ sum over rows, the i-th
            // range of columns (16 at a time, a whole vector) for them.
            var parts = (int)Math.Clamp((long)rows * cols * 6 / MinWorkPerThread, 1, Math.Max(1, Math.Min(KernelSettings.MaxThreads, rows)));
            var job = new Job { Y = dxp, Dgamma = dgp, Dbeta = dbp, Dy = dyp, X = xp, Mean = mp, Rstd = rp, Gamma = gp, Rows = rows, Cols = cols, Width = KernelSettings.VectorWidth, Parts = parts };
            KernelThreads.Run(parts, &BackwardPart, &job);
        }
    }

    private static void BackwardPart(void* context, int part)
    {
        var job = (Job*)context;
        var (rows, groups, parts) = (job->Rows, (job->Cols + 15) / 16, job->Parts);
        InputGradientRows(job, (int)((long)rows * part / parts), (int)((long)rows * (part + 1) / parts));
        ParameterGradientColumns(job, (int)((long)groups * part / parts), (int)((long)groups * (part + 1) / parts));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var cols = job->Cols;
        var gamma = new ReadOnlySpan<float>(job->Gamma, cols);
        var beta = new ReadOnlySpan<float>(job->Beta, cols);
        for (var r = first; r < last; r++)
        {
            if (job->A != null)
            {
                var offset = (long)r * cols;
                VectorLoops.Map(
                    job->Width, new ReadOnlySpan<float>(job->A + offset, cols), new ReadOnlySpan<float>(job->B + offset, cols), new Span<float>(job->X + offset, cols),
                    default(ElementWise.AddOperator));
            }
            var x = new ReadOnlySpan<float>(job->X + ((long)r * cols), cols);
            var y = new Span<float>(job->Y + ((long)r * cols), cols);
            var mean = VectorLoops.Sum(job->Width, x, default(Identity)) / cols;
            var variance = VectorLoops.Sum(job->Width, x, new SquaredDeviation(mean)) / cols;
            var rstd = 1f / MathF.Sqrt(variance + job->Epsilon);
            job->Mean[r] = mean;
            job->Rstd[r] = rstd;
            VectorLoops.Map(job->Width, x, gamma, beta, y, new Normalize(mean, rstd));
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
            var (mean, rstd) = (job->Mean[r], job->Rstd[r]);
            var meanGradient = VectorLoops.Dot(job->Width, dy, gamma) / cols;
            var meanGradientDotNormalized = VectorLoops.Sum(job->Width, x, dy, gamma, new GradientDotNormalized(mean, rstd)) / cols;
            VectorLoops.Map(job->Width, x, dy, gamma, dx, dx, new InputGradient(mean, rstd, meanGradient, meanGradientDotNormalized));
        }
    }

    // Each thread sums its columns over all rows in a small buffer of its own and adds the sums to dγ and dβ once:
    // writing dγ row after row would make two threads' neighbouring columns share a cache line on every row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ParameterGradientColumns(void* context, int first, int last)
    {
        const int blockColumns = 256;
        var job = (Job*)context;
        var end = Math.Min(last * 16, job->Cols);
        Span<float> gammaBlock = stackalloc float[blockColumns];
        Span<float> betaBlock = stackalloc float[blockColumns];
        for (var column0 = first * 16; column0 < end; column0 += blockColumns)
        {
            var width = Math.Min(blockColumns, end - column0);
            var gammaSums = gammaBlock[..width];
            var betaSums = betaBlock[..width];
            gammaSums.Clear();
            betaSums.Clear();
            for (var r = 0; r < job->Rows; r++)
            {
                var offset = ((long)r * job->Cols) + column0;
                var dy = new ReadOnlySpan<float>(job->Dy + offset, width);
                var x = new ReadOnlySpan<float>(job->X + offset, width);
                VectorLoops.Map(job->Width, x, dy, gammaSums, gammaSums, new GammaGradient(job->Mean[r], job->Rstd[r]));
                VectorLoops.Map(job->Width, betaSums, dy, betaSums, default(ElementWise.AddOperator));
            }
            var dgamma = new Span<float>(job->Dgamma + column0, width);
            var dbeta = new Span<float>(job->Dbeta + column0, width);
            VectorLoops.Map(job->Width, dgamma, gammaSums, dgamma, default(ElementWise.AddOperator));
            VectorLoops.Map(job->Width, dbeta, betaSums, dbeta, default(ElementWise.AddOperator));
        }
    }

    private struct Job
    {
        public float* Y;
        public float* Mean;
        public float* Rstd;
        public float* X;
        public float* Gamma;
        public float* Beta;
        public float* Dgamma;
        public float* Dbeta;
        public float* Dy;
        public float* A;
        public float* B;
        public int Rows;
        public int Cols;
        public float Epsilon;
        public int Width;
        public int Parts;
    }

    private readonly struct Identity : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x) => x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x) => x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => x;
    }

    // x → (x − μ)²
    private readonly struct SquaredDeviation(float mean) : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => (x - mean) * (x - mean);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x) => (x - Vector128.Create(mean)) * (x - Vector128.Create(mean));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x) => (x - Vector256.Create(mean)) * (x - Vector256.Create(mean));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => (x - Vector512.Create(mean)) * (x - Vector512.Create(mean));
    }

    // (x, γ, β) → (x − μ)·rstd·γ + β
    private readonly struct Normalize(float mean, float rstd) : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float gamma, float beta) => MathF.FusedMultiplyAdd((x - mean) * rstd, gamma, beta);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> gamma, Vector128<float> beta) =>
            Vector128.FusedMultiplyAdd((x - Vector128.Create(mean)) * rstd, gamma, beta);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> gamma, Vector256<float> beta) =>
            Vector256.FusedMultiplyAdd((x - Vector256.Create(mean)) * rstd, gamma, beta);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> gamma, Vector512<float> beta) =>
            Vector512.FusedMultiplyAdd((x - Vector512.Create(mean)) * rstd, gamma, beta);
    }

    // (x, dy, γ) → dy·γ·ŷ
    private readonly struct GradientDotNormalized(float mean, float rstd) : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float gamma) => dy * gamma * ((x - mean) * rstd);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> gamma) => dy * gamma * ((x - Vector128.Create(mean)) * rstd);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> gamma) => dy * gamma * ((x - Vector256.Create(mean)) * rstd);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> gamma) => dy * gamma * ((x - Vector512.Create(mean)) * rstd);
    }

    // (x, dy, γ, dx) → dx + rstd·(dy·γ − mean(dŷ) − ŷ·mean(dŷ·ŷ))
    private readonly struct InputGradient(float mean, float rstd, float meanGradient, float meanGradientDotNormalized) : IQuaternaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float gamma, float dx) =>
            MathF.FusedMultiplyAdd(rstd, (dy * gamma) - meanGradient - ((x - mean) * rstd * meanGradientDotNormalized), dx);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> gamma, Vector128<float> dx) =>
            Vector128.FusedMultiplyAdd(
                Vector128.Create(rstd), (dy * gamma) - Vector128.Create(meanGradient) - ((x - Vector128.Create(mean)) * (rstd * meanGradientDotNormalized)), dx);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> gamma, Vector256<float> dx) =>
            Vector256.FusedMultiplyAdd(
                Vector256.Create(rstd), (dy * gamma) - Vector256.Create(meanGradient) - ((x - Vector256.Create(mean)) * (rstd * meanGradientDotNormalized)), dx);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> gamma, Vector512<float> dx) =>
            Vector512.FusedMultiplyAdd(
                Vector512.Create(rstd), (dy * gamma) - Vector512.Create(meanGradient) - ((x - Vector512.Create(mean)) * (rstd * meanGradientDotNormalized)), dx);
    }

    // (x, dy, dγ) → dγ + dy·ŷ
    private readonly struct GammaGradient(float mean, float rstd) : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float dgamma) => MathF.FusedMultiplyAdd(dy, (x - mean) * rstd, dgamma);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> dgamma) =>
            Vector128.FusedMultiplyAdd(dy, (x - Vector128.Create(mean)) * rstd, dgamma);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> dgamma) =>
            Vector256.FusedMultiplyAdd(dy, (x - Vector256.Create(mean)) * rstd, dgamma);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> dgamma) =>
            Vector512.FusedMultiplyAdd(dy, (x - Vector512.Create(mean)) * rstd, dgamma);
    }
}
