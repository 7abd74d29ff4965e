using NanoLlm.Tensors;

namespace NanoLlm.Bench;

/// <summary>
/// The matrix-vector product as it was before <see cref="MatVec"/> read several rows at once: one row's dot product
/// after another (the same numbers, bit for bit). Kept to time the two side by side in one run.
/// </summary>
public static unsafe class PreviousMatVec
{
    // y[N] = W[N,K]·x[K]
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int outputs, int inputs)
    {
        fixed (float* yp = y, xp = x, wp = w)
        {
            var job = new Job { Y = yp, X = xp, W = wp, Inputs = inputs, Width = KernelSettings.VectorWidth };
            ParallelRows.For(outputs, inputs, &Rows, &job);
        }
    }

    private static void Rows(void* context, int first, int last)
    {
        var job = (Job*)context;
        var x = new ReadOnlySpan<float>(job->X, job->Inputs);
        for (var j = first; j < last; j++)
        {
            job->Y[j] = VectorLoops.Dot(job->Width, x, new ReadOnlySpan<float>(job->W + ((long)j * job->Inputs), job->Inputs));
        }
    }

    private struct Job
    {
        public float* Y;
        public float* X;
        public float* W;
        public int Inputs;
        public int Width;
    }
}
