using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// Where one training step of a GPT (<see cref="StepShape"/>; the baby GPT by default) spends its time, at 1 and 2
/// kernel threads in one process: the whole step through the model (forward, zeroing, backward, clipping, AdamW),
/// then each part alone on the same shapes, times how often a step runs it; then ms/step, tokens/s and MFU against
/// the peak <see cref="PeakProbe"/> measures at the same thread count. Each figure is the median of up to 30 timed
/// repetitions (fewer when a repetition is long: about <c>seconds</c> of timing each) after warm-up.
/// </summary>
public static class StepBreakdown
{
    public sealed record Result(int Threads, double StepMilliseconds, double TokensPerSecond, double Mfu);

    public static IReadOnlyList<Result> Run(StepShape shape, IReadOnlyList<int> threadCounts, double seconds, bool parts = true)
    {
        var random = new Random(1);
        var model = shape.CreateModel();
        model.Initialize(random);
        var optimizer = new AdamW(new OptimizerSettings(), model.Parameters.Count);
        var inputs = Enumerable.Range(0, shape.Rows).Select(_ => random.Next(shape.Vocab)).ToArray();
        var targets = Enumerable.Range(0, shape.Rows).Select(_ => random.Next(shape.Vocab)).ToArray();
        var flopsPerToken = ModelFlops.TrainingFlopsPerToken(ModelFlops.NonEmbeddingParameters(model.Parameters), shape.Layers, shape.Length, shape.Channels);
        void Step()
        {
            model.Training = true;
            model.Forward(inputs, targets, shape.Batch, shape.Length);
            model.Parameters.ZeroGrads();
            model.Backward();
            GradientClipping.Clip(model.Parameters, 1.0);
            optimizer.Update(model.Parameters, 1e-3f);
        }

        Console.WriteLine($"GPT training step, {shape}, {model.Parameters.Count:N0} parameters, {flopsPerToken / 1e6:F2} MFLOP a token (6·N + 12·L·T·C, N = {ModelFlops.NonEmbeddingParameters(model.Parameters):N0} without wpe), SIMD={KernelSettings.VectorWidth}; load average {PeakProbe.LoadAverage()}");
        var steps = new Dictionary<int, double>();
        var tables = new Dictionary<int, List<(string Name, int PerStep, double Forward, double Backward)>>();
        var previousThreads = KernelSettings.MaxThreads;
        try
        {
            foreach (var threads in threadCounts)
            {
                KernelSettings.MaxThreads = threads;
                steps[threads] = Median(Step, seconds);
                if (parts)
                {
                    tables[threads] = Parts(shape, model, optimizer, targets, random, seconds);
                }
            }
        }
        finally
        {
            KernelSettings.MaxThreads = previousThreads;
        }

        if (parts)
        {
            Console.WriteLine();
            Console.WriteLine("| part | per step | " + string.Join(" | ", threadCounts.Select(t => $"{t} thread{(t == 1 ? "" : "s")}: forward ms | backward ms | ms per step | share")) + " |");
            Console.WriteLine("|---|--:|" + string.Concat(threadCounts.Select(_ => "--:|--:|--:|--:|")));
            var first = tables[threadCounts[0]];
            for (var i = 0; i < first.Count; i++)
            {
                var cells = threadCounts.Select(t =>
                {
                    var (_, perStep, forward, backward) = tables[t][i];
                    var total = perStep * (forward + backward);
                    return string.Create(CultureInfo.InvariantCulture, $"{forward:F3} | {backward:F3} | {total:F2} | {total / steps[t]:P0}");
                });
                Console.WriteLine($"| {first[i].Name} | {first[i].PerStep} | {string.Join(" | ", cells)} |");
            }
            Console.WriteLine("| **whole step through the model** | 1 | " + string.Join(" | ", threadCounts.Select(t => string.Create(CultureInfo.InvariantCulture,
                $"| | **{steps[t]:F2}** | parts add up to {tables[t].Sum(row => row.PerStep * (row.Forward + row.Backward)):F2}"))) + " |");
        }

        Console.WriteLine();
        var results = new List<Result>();
        foreach (var threads in threadCounts)
        {
            var tokensPerSecond = shape.Rows / (steps[threads] / 1000);
            var peak = PeakProbe.Peak(threads);
            var mfu = ModelFlops.Utilization(flopsPerToken, tokensPerSecond, peak);
            results.Add(new Result(threads, steps[threads], tokensPerSecond, mfu));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {shape.Name} threads={threads}: {steps[threads]:F2} ms/step, {tokensPerSecond:F0} tokens/s, {flopsPerToken * tokensPerSecond / 1e9:F1} GFLOP/s, MFU {mfu:P1} of {peak:F1} GFLOP/s measured peak"));
        }
        Console.WriteLine($"load average after: {PeakProbe.LoadAverage()}");
        return results;
    }

    private static List<(string Name, int PerStep, double Forward, double Backward)> Parts(
        StepShape shape, GptModel model, AdamW optimizer, int[] targets, Random random, double seconds)
    {
        var (rows, channels, vocab) = (shape.Rows, shape.Channels, shape.Vocab);
        var parameters = new ParameterSet([.. TransformerBlock.Specs("h", channels, 4 * channels)]);
        Initialization.Normal(parameters.Values, 0.02, random);
        var norm = new LayerNormalization(parameters, "h.ln_1");
        var attention = new CausalSelfAttention(parameters, "h.attn", shape.Heads);
        var feedForward = new FeedForward(parameters, "h.mlp");
        norm.EnsureCapacity(rows);
        attention.EnsureCapacity(shape.Batch, shape.Length);
        feedForward.EnsureCapacity(rows);
        var x = RandomArray(rows * channels, random);
        var y = new float[rows * channels];
        var dx = new float[rows * channels];
        var head = model.Parameters["wte"];
        var logits = new float[(long)rows * vocab];
        var dlogits = new float[(long)rows * vocab];
        Linear.Forward(logits, x, head, null, rows);
        var inputs = targets;
        return
        [
            ("LayerNorm", (2 * shape.Layers) + 1, Median(() => norm.Forward(y, x, rows), seconds), Median(() => norm.Backward(dx, y, x, rows), seconds)),
            ("Attention (QKV, QKᵀ, softmax, PV, projection)", shape.Layers,
                Median(() => attention.Forward(y, x, shape.Batch, shape.Length), seconds), Median(() => attention.Backward(dx, y, x, shape.Batch, shape.Length), seconds)),
            ("Feed-forward (Linear, GELU, Linear)", shape.Layers,
                Median(() => feedForward.Forward(y, x, rows), seconds), Median(() => feedForward.Backward(dx, y, x, rows), seconds)),
            ("Residual additions", 2 * shape.Layers, Median(() => ElementWise.Add(y, x, x), seconds), 0),
            ("Head (Linear to V)", 1, Median(() => Linear.Forward(logits, x, head, null, rows), seconds), Median(() => Linear.Backward(dx, head, null, dlogits, x, rows), seconds)),
            ("Cross-entropy (softmax, loss, ∂logits)", 1, Median(() => CrossEntropy.ForwardBackward(dlogits, logits, targets, rows, vocab), seconds), 0),
            ("Token embedding (gather; scatter-add)", 1,
                Median(() => Embedding.Forward(y, head.Values, inputs, channels), seconds), Median(() => Embedding.Backward(head.Grads, dx, inputs, channels), seconds)),
            ("Gradient zeroing", 1, Median(model.Parameters.ZeroGrads, seconds), 0),
            ("Gradient norm + clipping", 1, Median(() => GradientClipping.Clip(model.Parameters, 1.0), seconds), 0),
            ("AdamW update", 1, Median(() => optimizer.Update(model.Parameters, 1e-3f), seconds), 0),
        ];
    }

    private static float[] RandomArray(int length, Random random) =>
        [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5))];

    // Milliseconds: the median of up to 30 timed runs (at least 3, and fewer than 30 when they would take longer than
    // `seconds`), after warm-ups.
    private static double Median(Action action, double seconds)
    {
        var clock = Stopwatch.StartNew();
        action();
        var first = clock.Elapsed.TotalSeconds;
        var count = (int)Math.Clamp(seconds / Math.Max(first, 1e-6), 3, 30);
        for (var i = 0; i < Math.Min(4, count / 3); i++)
        {
            action();
        }
        var times = new double[count];
        for (var i = 0; i < times.Length; i++)
        {
            clock.Restart();
            action();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
