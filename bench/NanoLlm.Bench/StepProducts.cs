using System.Diagnostics;
using NanoLlm.Tensors;

namespace NanoLlm.Bench;

/// <summary>
/// Each matrix product of a training step alone, on a <see cref="StepShape"/>'s sizes: the five Linear layers' forward,
/// dX = dY·W and dW += dYᵀ·X (no bias, so only the GEMM is timed), and attention's six batched products with the
/// causal masks the layer passes. A figure is the best of 7 samples of about 20 ms each, as wall time and as the process's
/// CPU time: on a shared machine the CPU time of a one-thread run is what the code costs, whoever else holds the core.
/// </summary>
public static class StepProducts
{
    private const int Samples = 7;

    public static void Run(StepShape shape, int[] threadCounts)
    {
        var (rows, c, v, h) = (shape.Rows, shape.Channels, shape.Vocab, shape.Heads);
        Console.WriteLine($"GEMM products of one step, {shape}, SIMD={KernelSettings.VectorWidth}; load average {PeakProbe.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| product | M×K×N | threads | forward ms | GFLOP/s | dX ms | GFLOP/s | dW ms | GFLOP/s | forward CPU ms | dX CPU ms | dW CPU ms |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        (string Name, int K, int N)[] linears = [("attention qkv", c, 3 * c), ("attention projection", c, c), ("feed-forward up", c, 4 * c), ("feed-forward down", 4 * c, c), ("head", c, v)];
        foreach (var (name, k, n) in linears)
        {
            var (x, w, y, dy, dx, dw) = (Random(rows * k), Random(n * k), new float[rows * n], Random(rows * n), new float[rows * k], new float[n * k]);
            var flops = 2.0 * rows * k * n;
            foreach (var threads in threadCounts)
            {
                using var scope = KernelSettings.Override(KernelSettings.VectorWidth, threads);
                var forward = Time(() => MatMul.Forward(y, x, w, [], rows, k, n));
                var input = Time(() => MatMul.BackwardInput(dx, dy, w, rows, k, n));
                var weight = Time(() => MatMul.BackwardWeight(dw, [], dy, x, rows, k, n));
                Console.WriteLine(
                    $"| {name} | {rows}×{k}×{n} | {threads} | {forward.Wall:F3} | {flops / forward.Wall / 1e6:F1} | {input.Wall:F3} | {flops / input.Wall / 1e6:F1} | " +
                    $"{weight.Wall:F3} | {flops / weight.Wall / 1e6:F1} | {forward.Cpu:F3} | {input.Cpu:F3} | {weight.Cpu:F3} |");
            }
        }
        Console.WriteLine();
        var (t, d, b) = (shape.Length, c / h, shape.Batch);
        var qkvLayout = new MatrixLayout(3 * c, BatchStride: t * 3 * c, HeadStride: d);
        var keys = qkvLayout with { Transposed = true };
        var square = new MatrixLayout(t, BatchStride: h * t * t, HeadStride: t * t);
        var transposedSquare = square with { Transposed = true };
        var heads = new MatrixLayout(c, BatchStride: t * c, HeadStride: d);
        var (qkv, qkvGrads, scores, scoreGrads, outputs, outputGrads) = (Random(rows * 3 * c), new float[rows * 3 * c], Random(b * h * t * t), Random(b * h * t * t), new float[rows * c], Random(rows * c));
        (string Name, Action Product)[] products =
        [
            ("S = Q·Kᵀ", () => MatMul.Batched(scores, square, qkv, qkvLayout, qkv.AsSpan(c), keys, b, h, t, d, t, 0.125f, mask: CausalMask.LowerOutput)),
            ("O = P·V", () => MatMul.Batched(outputs, heads, scores, square, qkv.AsSpan(2 * c), qkvLayout, b, h, t, t, d, mask: CausalMask.LowerA)),
            ("dP = dO·Vᵀ", () => MatMul.Batched(scoreGrads, square, outputGrads, heads, qkv.AsSpan(2 * c), keys, b, h, t, d, t, mask: CausalMask.LowerOutput)),
            ("dV = Pᵀ·dO", () => MatMul.Batched(qkvGrads.AsSpan(2 * c), qkvLayout, scores, transposedSquare, outputGrads, heads, b, h, t, t, d, mask: CausalMask.UpperA)),
            ("dQ = dS·K", () => MatMul.Batched(qkvGrads, qkvLayout, scoreGrads, square, qkv.AsSpan(c), qkvLayout, b, h, t, t, d, 0.125f, mask: CausalMask.LowerA)),
            ("dK = dSᵀ·Q", () => MatMul.Batched(qkvGrads.AsSpan(c), qkvLayout, scoreGrads, transposedSquare, qkv, qkvLayout, b, h, t, t, d, 0.125f, mask: CausalMask.UpperA)),
        ];
        Console.WriteLine($"| attention product ({b}×{h} items, T = {t}, head size {d}) | threads | ms | GFLOP/s of the full square | CPU ms |");
        Console.WriteLine("|---|--:|--:|--:|--:|");
        var squareFlops = 2.0 * b * h * t * t * d;
        foreach (var (name, product) in products)
        {
            foreach (var threads in threadCounts)
            {
                using var scope = KernelSettings.Override(KernelSettings.VectorWidth, threads);
                var time = Time(product);
                Console.WriteLine($"| {name} | {threads} | {time.Wall:F3} | {squareFlops / time.Wall / 1e6:F1} | {time.Cpu:F3} |");
            }
        }
        Console.WriteLine($"load average after: {PeakProbe.LoadAverage()}");
    }

    private static (double Wall, double Cpu) Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        var calls = 0;
        while (clock.Elapsed.TotalMilliseconds < 50 || calls < 2)
        {
            action();
            calls++;
        }
        var repeats = Math.Max(1, (int)(20 / (clock.Elapsed.TotalMilliseconds / calls)));
        var (wall, cpu) = (double.MaxValue, double.MaxValue);
        using var process = Process.GetCurrentProcess();
        for (var sample = 0; sample < Samples; sample++)
        {
            process.Refresh();
            var cpuStart = process.TotalProcessorTime;
            clock.Restart();
            for (var i = 0; i < repeats; i++)
            {
                action();
            }
            wall = Math.Min(wall, clock.Elapsed.TotalMilliseconds / repeats);
            process.Refresh();
            cpu = Math.Min(cpu, (process.TotalProcessorTime - cpuStart).TotalMilliseconds / repeats);
        }
        return (wall, cpu);
    }

    private static float[] Random(int count)
    {
        var random = new Random(1);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() - 0.5);
        }
        return values;
    }
}
