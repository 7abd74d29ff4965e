using System.Runtime.CompilerServices;

namespace NanoLlm.Tensors;

/// <summary>
/// Softmax followed by the negative log-likelihood of the target class, fused: the gradient with respect to the
/// logits is softmax − one-hot, written in the same pass that computes the loss. Each row's loss is kept in double
/// and the rows are summed in order, so the mean does not depend on the thread count.
/// </summary>
public static unsafe class CrossEntropy
{
    [ThreadStatic]
    private static double[]? _rowLosses;

    // loss = mean_r(−log softmax(logits[r])[target[r]]);  dlogits[r] = (softmax(logits[r]) − onehot(target[r])) / rows
    public static double ForwardBackward(Span<float> dlogits, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int cols)
    {
        Softmax.CheckShape(dlogits.Length, rows, cols, nameof(dlogits));
        CheckTargets(targets, rows, cols);
        fixed (float* dp = dlogits)
        fixed (int* tp = targets)
        {
            return Run(dp, logits, tp, rows, cols);
        }
    }

    // loss = mean_r(−log softmax(logits[r])[target[r]])
    public static double Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int cols)
    {
        CheckTargets(targets, rows, cols);
        fixed (int* tp = targets)
        {
            return Run(null, logits, tp, rows, cols);
        }
    }

    private static void CheckTargets(ReadOnlySpan<int> targets, int rows, int cols)
    {
        if (targets.Length < rows)
        {
            throw new ArgumentException($"{targets.Length} targets for {rows} rows.", nameof(targets));
        }
        foreach (var target in targets[..rows])
        {
            if ((uint)target >= (uint)cols)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), target, $"A target must be a class below {cols}.");
            }
        }
    }

    private static double Run(float* dlogits, ReadOnlySpan<float> logits, int* targets, int rows, int cols)
    {
        Softmax.CheckShape(logits.Length, rows, cols, nameof(logits));
        if (rows == 0)
        {
            return 0;
        }
        if (_rowLosses is null || _rowLosses.Length < rows)
        {
            _rowLosses = GC.AllocateUninitializedArray<double>(rows, pinned: true);
        }
        fixed (float* lp = logits)
        fixed (double* losses = _rowLosses)
        {
            var job = new Job { Dlogits = dlogits, Logits = lp, Targets = targets, Losses = losses, Rows = rows, Cols = cols, Width = KernelSettings.VectorWidth };
            ParallelRows.For(rows, cols * 4L, &Rows, &job);
            double loss = 0;
            for (var r = 0; r < rows; r++)
            {
                loss += losses[r];
            }
            return loss / rows;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var cols = job->Cols;
        var share = 1f / job->Rows;
        for (var r = first; r < last; r++)
        {
            var offset = (long)r * cols;
            var row = new ReadOnlySpan<float>(job->Logits + offset, cols);
            var target = job->Targets[r];
            var max = VectorLoops.Max(job->Width, row);
            float sum;
            if (job->Dlogits == null)
            {
                sum = VectorLoops.Sum(job->Width, row, new Softmax.ExpMinus(max));
            }
            else
            {
                var gradient = new Span<float>(job->Dlogits + offset, cols);
                sum = VectorLoops.MapAndSum(job->Width, row, gradient, new Softmax.ExpMinus(max));
                VectorLoops.Map(job->Width, gradient, gradient, new ElementWise.ScaleOperator(share / sum));
                gradient[target] -= share;
            }
            job->Losses[r] = Math.Log(sum) - (row[target] - max);
        }
    }

    private struct Job
    {
        public float* Dlogits;
        public float* Logits;
        public int* Targets;
        public double* Losses;
        public int Rows;
        public int Cols;
        public int Width;
    }
}
