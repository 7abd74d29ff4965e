using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using NanoLlm.Tensors;

namespace NanoLlm.Bench;

/// <summary>
/// <c>--kernels [matmul|rows]</c>: the kernels side by side with their references in one run, timed with a
/// Stopwatch (median of several samples, each long enough to swamp the timer): MatMul against OpenBLAS's
/// cblas_sgemm at 1 and 2 threads, the row kernels against their naive scalar twins and a plain copy of the same
/// bytes. Ends with the one-line MatMul summary.
/// </summary>
public static class KernelComparison
{
    private const int Samples = 7;
    private const double SampleSeconds = 0.01;
    private const double WarmUpSeconds = 0.2;
    private const int SettleMilliseconds = 5;
    private static readonly int[] MatMulSizes = [128, 384, 512, 65];
    private static readonly int[] RowLengths = [65, 256, 1024, 4096];
    private const int Rows = 768;

    public static void Run(string group)
    {
        Console.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} cores; kernels use {KernelSettings.VectorWidth}-bit vectors; {RuntimeInformation.FrameworkDescription}");
        Console.WriteLine($"Load average before: {LoadAverage()}");
        if (group is "" or "rows")
        {
            RowKernels();
        }
        if (group is "" or "matmul")
        {
            MatMuls();
        }
    }

    // The machine's 1-, 5- and 15-minute load averages: other work on the cores shows in every figure.
    private static string LoadAverage()
    {
        const string path = "/proc/loadavg";
        return File.Exists(path) ? string.Join(' ', File.ReadAllText(path).Split(' ').Take(3)) : "unknown";
    }

    private static void MatMuls()
    {
        var blas = OpenBlas.TryLoad();
        Console.WriteLine(blas is null
            ? $"OpenBLAS: {OpenBlas.LibraryName} not installed (apt-get install libopenblas0-openmp); our figures alone."
            : $"OpenBLAS: {blas.Configuration}");
        var shapes = new List<(int M, int K, int N)>();
        foreach (var k in MatMulSizes)
        {
            foreach (var n in MatMulSizes)
            {
                shapes.Add((Rows, k, n));
            }
        }
        shapes.Add((1024, 1024, 1024));

        var summary = new List<string>();
        foreach (var threads in new[] { 1, 2 })
        {
            KernelSettings.MaxThreads = threads;
            var blasThreads = blas?.SetThreads(threads);
            Console.WriteLine();
            Console.WriteLine($"MatMul, {threads} thread(s) (OpenBLAS reports {(blasThreads is null ? "n/a" : blasThreads.Value.ToString(CultureInfo.InvariantCulture))})");
            Console.WriteLine($"{"form",-15} {"M×K×N",-14} {"ns/op",12} {"GFLOP/s",8} {"OpenBLAS",9} {"ratio",6}");
            var ratios = new List<double>();
            foreach (var (m, k, n) in shapes)
            {
                var x = Random(m * k, 1);
                var w = Random(n * k, 2);
                var y = new float[m * n];
                var dx = new float[m * k];
                var dw = new float[n * k];
                var flops = 2.0 * m * k * n;
                (string Form, Action Ours, Action? Theirs)[] forms =
                [
                    ("Forward", () => MatMul.Forward(y, x, w, [], m, k, n), blas is null ? null : () => blas.Forward(y, x, w, m, k, n)),
                    ("BackwardInput", () => MatMul.BackwardInput(dx, y, w, m, k, n), blas is null ? null : () => blas.BackwardInput(dx, y, w, m, k, n)),
                    ("BackwardWeight", () => MatMul.BackwardWeight(dw, [], y, x, m, k, n), blas is null ? null : () => blas.BackwardWeight(dw, y, x, m, k, n)),
                ];
                foreach (var (form, ours, theirs) in forms)
                {
                    var seconds = theirs is null ? Measure(ours) : Measure(ours, theirs);
                    var oursSeconds = seconds[0];
                    var line = $"{form,-15} {$"{m}×{k}×{n}",-14} {oursSeconds * 1e9,12:F0} {flops / oursSeconds / 1e9,8:F1}";
                    if (theirs is not null)
                    {
                        var theirsSeconds = seconds[1];
                        var ratio = theirsSeconds / oursSeconds;
                        ratios.Add(ratio);
                        line += $" {flops / theirsSeconds / 1e9,9:F1} {ratio,6:F2}";
                    }
                    Console.WriteLine(line);
                }
            }
            if (ratios.Count > 0)
            {
                ratios.Sort();
                summary.Add(string.Create(CultureInfo.InvariantCulture, $"min={ratios[0]:F2} median={Median(ratios):F2} threads={threads}"));
            }
        }
        Console.WriteLine();
        Console.WriteLine($"Load average after: {LoadAverage()}");
        Console.WriteLine(summary.Count > 0
            ? $"MatMul/OpenBLAS GFLOP/s ratio: {string.Join("; ", summary)}"
            : $"MatMul/OpenBLAS GFLOP/s ratio: n/a ({OpenBlas.LibraryName} not installed)");
    }

    private static void RowKernels()
    {
        KernelSettings.MaxThreads = 1;
        Console.WriteLine();
        Console.WriteLine($"Row kernels, 1 thread, {Rows} rows; GB/s counts the input read and the output written");
        Console.WriteLine($"{"kernel",-14} {"rows×cols",-10} {"ns/op",10} {"GB/s",6} {"naive ns",10} {"×naive",7} {"copy ns",9} {"÷copy",6}");
        foreach (var cols in RowLengths)
        {
            var length = Rows * cols;
            var x = Random(length, 3);
            var y = new float[length];
            var gamma = Random(cols, 4);
            var beta = Random(cols, 5);
            var mean = new float[Rows];
            var rstd = new float[Rows];
            var targets = new int[Rows];
            for (var r = 0; r < Rows; r++)
            {
                targets[r] = (r * 7) % cols;
            }
            Action copy = () => x.AsSpan().CopyTo(y);
            (string Kernel, Action Ours, Action Naive)[] kernels =
            [
                ("Softmax", () => Softmax.Forward(y, x, Rows, cols), () => NaiveKernels.Softmax(y, x, Rows, cols)),
                ("CrossEntropy", () => CrossEntropy.ForwardBackward(y, x, targets, Rows, cols), () => NaiveKernels.CrossEntropy(y, x, targets, Rows, cols)),
                ("LayerNorm", () => LayerNorm.Forward(y, mean, rstd, x, gamma, beta, Rows, cols), () => NaiveKernels.LayerNorm(y, mean, rstd, x, gamma, beta, Rows, cols)),
                ("Gelu", () => Gelu.Forward(y, x), () => NaiveKernels.Gelu(y, x)),
            ];
            foreach (var (kernel, ours, naive) in kernels)
            {
                var seconds = Measure(ours, naive, copy);
                var (oursSeconds, naiveSeconds, copySeconds) = (seconds[0], seconds[1], seconds[2]);
                Console.WriteLine(
                    $"{kernel,-14} {$"{Rows}×{cols}",-10} {oursSeconds * 1e9,10:F0} {2.0 * length * sizeof(float) / oursSeconds / 1e9,6:F1} " +
                    $"{naiveSeconds * 1e9,10:F0} {naiveSeconds / oursSeconds,7:F1} {copySeconds * 1e9,9:F0} {oursSeconds / copySeconds,6:F2}");
            }
        }
        KernelSettings.MaxThreads = Environment.ProcessorCount;
    }

    // Median seconds per call of each action, their samples interleaved so that a busy moment of the machine falls on
    // all of them alike; each sample is enough calls to last SampleSeconds, after a warm-up long enough for the JIT's
    // optimized code to take over.
    private static double[] Measure(params Action[] actions)
    {
        var calls = new int[actions.Length];
        var stopwatch = new Stopwatch();
        for (var a = 0; a < actions.Length; a++)
        {
            var count = 0;
            stopwatch.Restart();
            while (stopwatch.Elapsed.TotalSeconds < WarmUpSeconds || count < 3)
            {
                actions[a]();
                count++;
            }
            calls[a] = Math.Max(1, (int)(SampleSeconds * count / stopwatch.Elapsed.TotalSeconds));
        }
        var samples = new List<double>[actions.Length];
        for (var a = 0; a < actions.Length; a++)
        {
            samples[a] = new List<double>(Samples);
        }
        for (var s = 0; s < Samples; s++)
        {
            for (var a = 0; a < actions.Length; a++)
            {
                // Lets the other side's helper threads (ours, or OpenMP's) finish spinning and park first.
                Thread.Sleep(SettleMilliseconds);
                stopwatch.Restart();
                for (var c = 0; c < calls[a]; c++)
                {
                    actions[a]();
                }
                samples[a].Add(stopwatch.Elapsed.TotalSeconds / calls[a]);
            }
        }
        return [.. samples.Select(list =>
        {
            list.Sort();
            return Median(list);
        })];
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }
        return values;
    }

    private static string CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (File.Exists(cpuInfo))
        {
            foreach (var line in File.ReadLines(cpuInfo))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                }
            }
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
