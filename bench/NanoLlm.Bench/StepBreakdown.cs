using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// Where one training step of the baby GPT (B = 12, T = 64, C = 128, 4 layers, 4 heads, V = 256) spends its time:
/// the whole step through the model, then each layer alone on the same shapes, times how often a step runs it.
/// Medians of 30 timed repetitions after 5 warm-ups; the kernels use <c>NANOLLM_THREADS</c> threads (default: all).
/// </summary>
public static class StepBreakdown
{
    private const int BatchSize = 12, Length = 64, Channels = 128, Layers = 4, Heads = 4, VocabSize = 256;
    private const int Rows = BatchSize * Length;

    public static void Run()
    {
        var random = new Random(1);
        var model = BabyGpt();
        model.Initialize(random);
        var optimizer = new AdamW(new OptimizerSettings(), model.Parameters.Count);
        var inputs = Enumerable.Range(0, Rows).Select(_ => random.Next(VocabSize)).ToArray();
        var targets = Enumerable.Range(0, Rows).Select(_ => random.Next(VocabSize)).ToArray();

        var step = Median(() =>
        {
            model.Training = true;
            model.Forward(inputs, targets, BatchSize, Length);
            model.Parameters.ZeroGrads();
            model.Backward();
            GradientClipping.Clip(model.Parameters, 1.0);
            optimizer.Update(model.Parameters, 1e-3f);
        });

        var parameters = new ParameterSet([.. TransformerBlock.Specs("h", Channels, 4 * Channels), new("head", [VocabSize, Channels], true)]);
        Initialization.Normal(parameters.Values, 0.02, random);
        var norm = new LayerNormalization(parameters, "h.ln_1");
        var attention = new CausalSelfAttention(parameters, "h.attn", Heads);
        var feedForward = new FeedForward(parameters, "h.mlp");
        norm.EnsureCapacity(Rows);
        attention.EnsureCapacity(BatchSize, Length);
        feedForward.EnsureCapacity(Rows);
        var x = RandomArray(Rows * Channels, random);
        var y = new float[Rows * Channels];
        var dx = new float[Rows * Channels];
        var logits = new float[Rows * VocabSize];
        var dlogits = new float[Rows * VocabSize];

        var rows = new List<(string Name, int PerStep, double Forward, double Backward)>
        {
            ("LayerNorm", (2 * Layers) + 1, Median(() => norm.Forward(y, x, Rows)), Median(() => norm.Backward(dx, y, x, Rows))),
            ("Attention (QKV, QKᵀ, softmax, PV, projection)", Layers,
                Median(() => attention.Forward(y, x, BatchSize, Length)), Median(() => attention.Backward(dx, y, x, BatchSize, Length))),
            ("Feed-forward (Linear, GELU, Linear)", Layers,
                Median(() => feedForward.Forward(y, x, Rows)), Median(() => feedForward.Backward(dx, y, x, Rows))),
            ("Residual additions", 2 * Layers, Median(() => ElementWise.Add(y, x, x)), 0),
            ("Head (Linear to V) + cross-entropy", 1,
                Median(() =>
                {
                    Linear.Forward(logits, x, parameters["head"], null, Rows);
                    CrossEntropy.ForwardBackward(dlogits, logits, targets, Rows, VocabSize);
                }),
                Median(() => Linear.Backward(dx, parameters["head"], null, dlogits, x, Rows))),
            ("Gradient norm + AdamW update", 1, Median(() =>
            {
                GradientClipping.Clip(model.Parameters, 1.0);
                optimizer.Update(model.Parameters, 1e-3f);
            }), 0),
        };

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"baby GPT training step, B={BatchSize} T={Length} C={Channels} layers={Layers} heads={Heads} V={VocabSize}, threads={KernelSettings.MaxThreads}, SIMD={KernelSettings.VectorWidth}"));
        Console.WriteLine();
        Console.WriteLine("| part | per step | forward ms | backward ms | ms per step | share of step |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|");
        var accounted = 0.0;
        foreach (var (name, perStep, forward, backward) in rows)
        {
            var total = perStep * (forward + backward);
            accounted += total;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {perStep} | {forward:F3} | {backward:F3} | {total:F2} | {total / step:P0} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| whole step through the model | 1 | | | {step:F2} | (parts add up to {accounted:F2}) |"));
    }

    private static GptModel BabyGpt() => new(VocabSize, new SettingsSection("model", "bench", new Dictionary<string, SettingValue>
    {
        ["context_length"] = new((long)Length, "bench"),
        ["embedding_size"] = new((long)Channels, "bench"),
        ["layers"] = new((long)Layers, "bench"),
        ["heads"] = new((long)Heads, "bench"),
        ["positional"] = new("learned", "bench"),
        ["tie_embeddings"] = new(true, "bench"),
    }));

    private static float[] RandomArray(int length, Random random) =>
        [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5))];

    // Milliseconds: the median of 30 timed runs after 5 warm-ups.
    private static double Median(Action action)
    {
        for (var i = 0; i < 5; i++)
        {
            action();
        }
        var times = new double[30];
        for (var i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
