namespace NanoLlm.Tensors;

/// <summary>
/// A matrix times one vector, the whole of generation's arithmetic: every weight is read once per token, so the
/// kernel streams W's rows from memory and the speed is the memory's. The output rows are split across threads (each
/// row one dot product, computed the same way whatever the split), which brings a second core's share of bandwidth.
/// </summary>
public static unsafe class MatVec
{
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

    private static void Rows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var x = new ReadOnlySpan<float>(job->X, job->Inputs);
        for (var j = first; j < last; j++)
        {
            var row = new ReadOnlySpan<float>(job->W + ((long)j * job->Inputs), job->Inputs);
            job->Y[j] = VectorLoops.Dot(job->Width, x, row) + (job->B is null ? 0f : job->B[j]);
        }
    }

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
