using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Bench;

/// <summary>
/// This machine's measured floating-point peak: fused multiply-adds on registers only (no loads or stores), twelve
/// independent chains per thread so that the FMA units' latency (4 cycles on two pipes, on Zen 4/5 and recent Intel
/// cores) is covered, at each vector width the hardware accelerates, on 1 and 2 threads. Each thread is pinned to its
/// own CPU (<c>sched_setaffinity</c> on Linux) and does the same fixed work; GFLOP/s is the threads' FLOPs over the
/// wall time from the first thread's start to the last thread's end. The peak is the best of several runs: other work on
/// the machine can only lower a run's figure, so on a shared machine the median measures the neighbours as much as the
/// hardware (both are printed). MFU divides a benchmark's model FLOP/s by the widest width's peak at the same thread count.
/// </summary>
public static class PeakProbe
{
    // Each FMA does a multiply and an add on every lane.
    private const int Chains = 12;
    private const int Runs = 7;
    private static readonly TimeSpan RunTime = TimeSpan.FromMilliseconds(60);
    private static readonly Dictionary<(int Width, int Threads), (double Best, double Median)> Measured = [];

    /// <summary>The vector widths, in bits, the hardware accelerates, widest first.</summary>
    public static IReadOnlyList<int> Widths { get; } =
        [.. new[] { 512, 256, 128 }.Where(width => width switch
        {
            512 => Vector512.IsHardwareAccelerated,
            256 => Vector256.IsHardwareAccelerated,
            _ => Vector128.IsHardwareAccelerated,
        })];

    /// <summary>The machine's peak GFLOP/s on <paramref name="threads"/> threads: the widest vector's (measured once a process).</summary>
    public static double Peak(int threads) => Widths.Count == 0 ? double.NaN : GigaflopsPerSecond(Widths[0], threads).Best;

    /// <summary>Best and median GFLOP/s of register-only FMA chains at <paramref name="width"/> bits on <paramref name="threads"/> pinned threads.</summary>
    public static (double Best, double Median) GigaflopsPerSecond(int width, int threads)
    {
        if (Measured.TryGetValue((width, threads), out var known))
        {
            return known;
        }
        var flopsPerIteration = 2.0 * Chains * (width / 32);
        var iterations = Calibrate(width);
        var samples = new double[Runs];
        for (var run = 0; run < Runs; run++)
        {
            var seconds = TimeThreads(width, threads, iterations);
            samples[run] = flopsPerIteration * iterations * threads / seconds / 1e9;
        }
        Array.Sort(samples);
        return Measured[(width, threads)] = (samples[^1], samples[Runs / 2]);
    }

    /// <summary>Prints the table of every width at 1 and 2 threads, with the load average.</summary>
    public static void Run()
    {
        Console.WriteLine($"Peak probe: register-only FMA, {Chains} chains a thread, pinned threads, best (median) of {Runs} runs; load average {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| vector | FLOP per FMA | 1 thread GFLOP/s | 2 threads GFLOP/s | 2 ÷ 1 (best) |");
        Console.WriteLine("|---|--:|--:|--:|--:|");
        foreach (var width in Widths)
        {
            var one = GigaflopsPerSecond(width, 1);
            var two = GigaflopsPerSecond(width, 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| Vector{width} | {2 * width / 32} | {one.Best:F1} ({one.Median:F1}) | {two.Best:F1} ({two.Median:F1}) | {two.Best / one.Best:F2} |"));
        }
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"peak GFLOP/s (MFU's denominator): threads=1 {Peak(1):F1}; threads=2 {Peak(2):F1}"));
    }

    /// <summary>The 1-, 5- and 15-minute load averages from /proc/loadavg, or "unknown".</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    // Iterations that take about RunTime on one thread.
    private static long Calibrate(int width)
    {
        long iterations = 1 << 16;
        while (true)
        {
            var clock = Stopwatch.StartNew();
            Chain(width, iterations);
            var elapsed = clock.Elapsed;
            if (elapsed >= RunTime / 4)
            {
                return Math.Max(1, (long)(iterations * (RunTime / elapsed)));
            }
            iterations *= 4;
        }
    }

    // Seconds from the first thread's start to the last thread's end, each thread reading the clock itself (the
    // thread that started them may be descheduled when they begin).
    private static double TimeThreads(int width, int threads, long iterations)
    {
        using var ready = new Barrier(threads);
        var starts = new long[threads];
        var ends = new long[threads];
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            var (index, cpu) = (t, t % Environment.ProcessorCount);
            workers[t] = new Thread(() =>
            {
                PinToCpu(cpu);
                ready.SignalAndWait();
                starts[index] = Stopwatch.GetTimestamp();
                Chain(width, iterations);
                ends[index] = Stopwatch.GetTimestamp();
            });
            workers[t].Start();
        }
        foreach (var worker in workers)
        {
            worker.Join();
        }
        return (double)(ends.Max() - starts.Min()) / Stopwatch.Frequency;
    }

    private static float Chain(int width, long iterations) => width switch
    {
        512 => Chain512(iterations),
        256 => Chain256(iterations),
        _ => Chain128(iterations),
    };

    // cᵢ ← cᵢ·a + b for twelve independent cᵢ: the chains converge to b / (1 − a), so nothing overflows or goes
    // subnormal. The sum keeps the JIT from dropping the loop.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chain512(long iterations)
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(0.001f);
        Vector512<float> c0 = Vector512.Create(0.1f), c1 = Vector512.Create(0.2f), c2 = Vector512.Create(0.3f), c3 = Vector512.Create(0.4f);
        Vector512<float> c4 = Vector512.Create(0.5f), c5 = Vector512.Create(0.6f), c6 = Vector512.Create(0.7f), c7 = Vector512.Create(0.8f);
        Vector512<float> c8 = Vector512.Create(0.9f), c9 = Vector512.Create(1.1f), c10 = Vector512.Create(1.2f), c11 = Vector512.Create(1.3f);
        for (var i = 0L; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b);
            c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b);
            c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b);
            c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b);
            c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b);
            c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b);
            c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chain256(long iterations)
    {
        var a = Vector256.Create(0.999f);
        var b = Vector256.Create(0.001f);
        Vector256<float> c0 = Vector256.Create(0.1f), c1 = Vector256.Create(0.2f), c2 = Vector256.Create(0.3f), c3 = Vector256.Create(0.4f);
        Vector256<float> c4 = Vector256.Create(0.5f), c5 = Vector256.Create(0.6f), c6 = Vector256.Create(0.7f), c7 = Vector256.Create(0.8f);
        Vector256<float> c8 = Vector256.Create(0.9f), c9 = Vector256.Create(1.1f), c10 = Vector256.Create(1.2f), c11 = Vector256.Create(1.3f);
        for (var i = 0L; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b);
            c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b);
            c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b);
            c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b);
            c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b);
            c9 = Vector256.FusedMultiplyAdd(c9, a, b);
            c10 = Vector256.FusedMultiplyAdd(c10, a, b);
            c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chain128(long iterations)
    {
        var a = Vector128.Create(0.999f);
        var b = Vector128.Create(0.001f);
        Vector128<float> c0 = Vector128.Create(0.1f), c1 = Vector128.Create(0.2f), c2 = Vector128.Create(0.3f), c3 = Vector128.Create(0.4f);
        Vector128<float> c4 = Vector128.Create(0.5f), c5 = Vector128.Create(0.6f), c6 = Vector128.Create(0.7f), c7 = Vector128.Create(0.8f);
        Vector128<float> c8 = Vector128.Create(0.9f), c9 = Vector128.Create(1.1f), c10 = Vector128.Create(1.2f), c11 = Vector128.Create(1.3f);
        for (var i = 0L; i < iterations; i++)
        {
            c0 = Vector128.FusedMultiplyAdd(c0, a, b);
            c1 = Vector128.FusedMultiplyAdd(c1, a, b);
            c2 = Vector128.FusedMultiplyAdd(c2, a, b);
            c3 = Vector128.FusedMultiplyAdd(c3, a, b);
            c4 = Vector128.FusedMultiplyAdd(c4, a, b);
            c5 = Vector128.FusedMultiplyAdd(c5, a, b);
            c6 = Vector128.FusedMultiplyAdd(c6, a, b);
            c7 = Vector128.FusedMultiplyAdd(c7, a, b);
            c8 = Vector128.FusedMultiplyAdd(c8, a, b);
            c9 = Vector128.FusedMultiplyAdd(c9, a, b);
            c10 = Vector128.FusedMultiplyAdd(c10, a, b);
            c11 = Vector128.FusedMultiplyAdd(c11, a, b);
        }
        return Vector128.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    // Best effort: where the call is not available the thread runs wherever the scheduler puts it.
    private static void PinToCpu(int cpu)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var mask = 1UL << cpu;
        _ = SchedSetAffinity(0, sizeof(ulong), ref mask);
    }

    [DllImport("libc", EntryPoint = "sched_setaffinity")]
    private static extern int SchedSetAffinity(int pid, nint size, ref ulong mask);
}
