using System.Diagnostics;
using System.Globalization;
using NanoLlm.Model;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// Where one training step of a GPT (<see cref="StepShape"/>: the baby GPT by default, or a run file's model and
/// optimizer) spends its time, at each thread count in one process: first a check that a few steps from the same start
/// give the same losses and weights at every thread count (their hash, to compare builds), on the one model and optimizer
/// the timing uses, restarted before each check and before the timing, so the process holds one model's parameters,
/// gradients and optimizer state (its peak memory is what <see cref="Gpt2Step"/> reports); then the whole step through
/// the model (forward, zeroing, backward, clipping, the optimizer), then each part alone on the first block's layers
/// and the model's own shapes, times how often a step runs it (rows "of which" are inside the row above and not added
/// again); then ms/step, tokens/s and MFU against the peak <see cref="PeakProbe"/> measures at the same thread count.
/// Each figure is the median of up to 30 timed repetitions (fewer when a repetition is long: about <c>seconds</c> of
/// timing each) after warm-up; the whole step also gets the process's CPU time per step, which work from other
/// processes on the same cores inflates far less than the wall clock.
/// </summary>
public static class StepBreakdown
{
    private const int CheckSteps = 5;

    // The model's initialization and the batch are drawn from this seed.
    private const int Seed = 1;

    public sealed record Result(int Threads, double StepMilliseconds, double TokensPerSecond, double Mfu);

    private sealed record Part(string Name, int PerStep, double Forward, double Backward, bool Inside = false)
    {
        public double PerStepMilliseconds => PerStep * (Forward + Backward);
    }

    public static IReadOnlyList<Result> Run(StepShape shape, IReadOnlyList<int> threadCounts, double seconds, bool parts = true)
    {
        var random = new Random(Seed);
        var model = shape.CreateModel();
        model.Initialize(random);
        var optimizer = shape.CreateOptimizer(model.Parameters);
        var inputs = Enumerable.Range(0, shape.Rows).Select(_ => random.Next(shape.Vocab)).ToArray();
        var targets = Enumerable.Range(0, shape.Rows).Select(_ => random.Next(shape.Vocab)).ToArray();
        var flopsPerToken = ModelFlops.TrainingFlopsPerToken(ModelFlops.NonEmbeddingParameters(model.Parameters), shape.Layers, shape.Length, shape.Channels);
        void Step() => TrainingStep(shape, model, optimizer, inputs, targets);

        Console.WriteLine($"GPT training step, {shape}, {model.Parameters.Count:N0} parameters, {flopsPerToken / 1e6:F2} MFLOP a token (6·N + 12·L·T·C, N = {ModelFlops.NonEmbeddingParameters(model.Parameters):N0} without wpe), SIMD={KernelSettings.VectorWidth}; load average {PeakProbe.LoadAverage()}");
        var steps = new Dictionary<int, double>();
        var cpu = new Dictionary<int, double>();
        var tables = new Dictionary<int, List<Part>>();
        var previousThreads = KernelSettings.MaxThreads;
        try
        {
            foreach (var threads in threadCounts)
            {
                KernelSettings.MaxThreads = threads;
                Console.WriteLine($"check, threads={threads}: {Check(shape, model, optimizer, inputs, targets)}");
            }
            Restart(model, optimizer);
            foreach (var threads in threadCounts)
            {
                KernelSettings.MaxThreads = threads;
                steps[threads] = Median(Step, seconds);
                cpu[threads] = CpuMilliseconds(Step, (int)Math.Clamp(seconds * 1000 / steps[threads], 3, 30));
                if (parts)
                {
                    tables[threads] = Parts(shape, model, optimizer, seconds);
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
                    var part = tables[t][i];
                    return string.Create(CultureInfo.InvariantCulture, $"{part.Forward:F3} | {part.Backward:F3} | {part.PerStepMilliseconds:F2} | {part.PerStepMilliseconds / steps[t]:P0}");
                });
                Console.WriteLine($"| {(first[i].Inside ? "of which " : "")}{first[i].Name} | {first[i].PerStep} | {string.Join(" | ", cells)} |");
            }
            Console.WriteLine("| **whole step through the model** | 1 | " + string.Join(" | ", threadCounts.Select(t => string.Create(CultureInfo.InvariantCulture,
                $"| | **{steps[t]:F2}** | parts add up to {tables[t].Where(part => !part.Inside).Sum(part => part.PerStepMilliseconds):F2}"))) + " |");
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
                $"step {shape.Name} threads={threads}: {steps[threads]:F2} ms/step, {tokensPerSecond:F0} tokens/s, {flopsPerToken * tokensPerSecond / 1e9:F1} GFLOP/s, MFU {mfu:P1} of {peak:F1} GFLOP/s measured peak; {cpu[threads]:F2} CPU ms/step"));
        }
        Console.WriteLine($"load average after: {PeakProbe.LoadAverage()}");
        return results;
    }

    // A training step as the trainer takes one: forward (with dropout), backward, the gradient norm, the update (with
    // clipping's scale folded in).
    private static float TrainingStep(StepShape shape, GptModel model, IOptimizer optimizer, int[] inputs, int[] targets)
    {
        model.Training = true;
        model.Parameters.ZeroGrads();
        var loss = model.Forward(inputs, targets, shape.Batch, shape.Length);
        model.Backward();
        var norm = GradientClipping.GlobalNorm(model.Parameters);
        optimizer.Update(model.Parameters, shape.LearningRate, shape.GradClip > 0 ? GradientClipping.ScaleFor(norm, shape.GradClip) : 1f);
        return loss;
    }

    // The losses of a few steps from the restarted model and the weights' hash after them (FNV-1a over their bits):
    // equal lines mean equal numbers, whatever the thread count or build.
    private static string Check(StepShape shape, GptModel model, IOptimizer optimizer, int[] inputs, int[] targets)
    {
        Restart(model, optimizer);
        var losses = new float[CheckSteps];
        for (var i = 0; i < CheckSteps; i++)
        {
            losses[i] = TrainingStep(shape, model, optimizer, inputs, targets);
        }
        var hash = 14695981039346656037UL;
        foreach (var value in model.Parameters.Values)
        {
            hash = (hash ^ BitConverter.SingleToUInt32Bits(value)) * 1099511628211UL;
        }
        return string.Create(CultureInfo.InvariantCulture, $"losses {string.Join(" ", losses.Select(l => l.ToString("R", CultureInfo.InvariantCulture)))}, weights hash {hash:x16}");
    }

    // The model and optimizer as Run creates them: the weights initialized from the seed and the optimizer as
    // constructed, its state zero and no update taken (its State and UpdateCount are all a checkpoint saves to resume it).
    private static void Restart(GptModel model, IOptimizer optimizer)
    {
        model.Initialize(new Random(Seed));
        foreach (var (_, buffer) in optimizer.State)
        {
            Array.Clear(buffer);
        }
        optimizer.UpdateCount = 0;
    }

    // The parts of a step, timed on the model's first block (its buffers hold the last step's activations) and its
    // head, embedding and optimizer.
    private static List<Part> Parts(StepShape shape, GptModel model, IOptimizer optimizer, double seconds)
    {
        var random = new Random(2);
        var (rows, channels, vocab, layers) = (shape.Rows, shape.Channels, shape.Vocab, shape.Layers);
        var block = model.Blocks[0];
        var (norm, attention, feedForward) = (block.FirstNorm, block.Attention, block.FeedForward);
        var x = RandomArray(rows * channels, random);
        var y = new float[rows * channels];
        var dx = new float[rows * channels];
        var head = model.Parameters.TryGet("lm_head.weight", out var untied) ? untied : model.Parameters["wte"];
        var logits = new float[(long)rows * vocab];
        var dlogits = new float[(long)rows * vocab];
        var tokens = Enumerable.Range(0, rows).Select(_ => random.Next(vocab)).ToArray();
        Linear.Forward(logits, x, head, null, rows);
        var normName = norm is RmsNormalization ? "RMSNorm" : "LayerNorm";
        var list = new List<Part>
        {
            new(normName, (2 * layers) + 1, Median(() => norm.Forward(y, x, rows), seconds), Median(() => norm.Backward(dx, y, x, rows), seconds)),
            new("Attention (QKV, QKᵀ, softmax, PV, projection)", layers,
                Median(() => attention.Forward(y, x, shape.Batch, shape.Length, training: true, seed: 1, stream: 1), seconds),
                Median(() => attention.Backward(dx, y, x, shape.Batch, shape.Length), seconds)),
        };
        if (shape.RunFile is not null)
        {
            list.Add(new("query/key transform (QK-norm, rotary)", layers,
                Median(() => attention.TransformQueryKeys(shape.Batch, shape.Length), seconds),
                Median(() => attention.TransformQueryKeyGrads(shape.Batch, shape.Length), seconds), Inside: true));
        }
        list.Add(new($"Feed-forward (Linear, {feedForward.Activation}, Linear)", layers,
            Median(() => feedForward.Forward(y, x, rows), seconds), Median(() => feedForward.Backward(dx, y, x, rows), seconds)));
        if (shape.Dropout > 0)
        {
            var dropout = new Dropout(shape.Dropout);
            list.Add(new("Dropout (mask and apply; apply)", (2 * layers) + 1,
                Median(() => dropout.Forward(y, training: true, seed: 1, stream: 1), seconds), Median(() => dropout.Backward(dx), seconds)));
        }
        list.AddRange(
        [
            // LayerNorm adds the block's first residual in its own pass (AddForward); RMSNorm adds it apart.
            new("Residual additions", norm is LayerNormalization ? layers : 2 * layers, Median(() => ElementWise.Add(y, x, x), seconds), 0),
            new("Head (Linear to V)", 1, Median(() => Linear.Forward(logits, x, head, null, rows), seconds), Median(() => Linear.Backward(dx, head, null, dlogits, x, rows), seconds)),
            new("Cross-entropy (softmax, loss, ∂logits)", 1, Median(() => CrossEntropy.ForwardBackward(dlogits, logits, tokens, rows, vocab), seconds), 0),
            new("Token embedding (gather; scatter-add)", 1,
                Median(() => Embedding.Forward(y, model.Parameters["wte"].Values, tokens, channels), seconds),
                Median(() => Embedding.Backward(model.Parameters["wte"].Grads, dx, tokens, channels), seconds)),
            new("Gradient zeroing", 1, Median(model.Parameters.ZeroGrads, seconds), 0),
            new("Gradient norm", 1, Median(() => GradientClipping.GlobalNorm(model.Parameters), seconds), 0),
        ]);
        if (optimizer is Muon muon)
        {
            var rate = shape.LearningRate;
            list.AddRange(
            [
                new("AdamW part (embeddings, gains, biases)", 1, Median(() => muon.AdamW.Update(model.Parameters, rate, skipHiddenMatrices: true), seconds), 0),
                new($"Muon ({muon.Matrices.Count()} matrices: momentum, Newton–Schulz, decay, update)", 1, Median(() => muon.UpdateMatrices(model.Parameters, rate), seconds), 0),
                new("Newton–Schulz (5 iterations)", 1, Median(() => muon.OrthogonalizeMomenta(model.Parameters), seconds), 0, Inside: true),
            ]);
        }
        else
        {
            list.Add(new($"{optimizer.GetType().Name} update (clipping's scale folded in)", 1, Median(() => optimizer.Update(model.Parameters, shape.LearningRate, 0.5f), seconds), 0));
        }
        return list;
    }

    private static float[] RandomArray(int length, Random random) =>
        [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5))];

    // The process's CPU time per call over `count` calls, in milliseconds: on shared cores the wall clock also counts the
    // time other work held the core, CPU time much less so (on one thread; with helpers it includes their waiting).
    private static double CpuMilliseconds(Action action, int count)
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var before = process.TotalProcessorTime;
        for (var i = 0; i < count; i++)
        {
            action();
        }
        process.Refresh();
        return (process.TotalProcessorTime - before).TotalMilliseconds / count;
    }

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
