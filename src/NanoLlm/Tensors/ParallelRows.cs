namespace NanoLlm.Tensors;

/// <summary>
/// Splits rows [0, rows) into contiguous ranges, one per thread, when the work pays for the threads; each row is
/// computed the same way whichever range it falls in, so results do not depend on the thread count.
/// </summary>
internal static unsafe class ParallelRows
{
    // Below this many element operations a thread does not pay for waking it.
    private const long MinWorkPerThread = 1L << 16;

    // body(context, first, last) over ranges covering [0, rows)
    public static void For(int rows, long workPerRow, delegate*<void*, int, int, void> body, void* context)
    {
        var parts = (int)Math.Clamp(rows * workPerRow / MinWorkPerThread, 1, Math.Max(1, Math.Min(KernelSettings.MaxThreads, rows)));
        if (parts == 1)
        {
            body(context, 0, rows);
            return;
        }
        var split = new Split { Body = body, Context = context, Rows = rows, Parts = parts };
        KernelThreads.Run(parts, &RunPart, &split);
    }

    private static void RunPart(void* context, int part)
    {
        var split = (Split*)context;
        var first = (int)((long)split->Rows * part / split->Parts);
        var last = (int)((long)split->Rows * (part + 1) / split->Parts);
        split->Body(split->Context, first, last);
    }

    private struct Split
    {
        public delegate*<void*, int, int, void> Body;
        public void* Context;
        public int Rows;
        public int Parts;
    }
}
