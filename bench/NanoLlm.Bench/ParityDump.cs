using System.Text.Json;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// NanoLlm's half of <c>make parity</c> (tools/reference/parity.py is the PyTorch half, llm.c's test_gpt2 habit): for
/// each GPT variant, one folder with the weights file, a fixed batch, and NanoLlm's loss, logits and gradients on that
/// batch, for the PyTorch twin to recompute and compare; then a check that NanoLlm reads the weights file the twin
/// wrote back as the same model. Trains nothing.
/// </summary>
public static class ParityDump
{
    private const string WeightsFile = "weights.safetensors";
    private const string BatchFile = "batch.json";
    private const string OutputsFile = "nanollm.safetensors";
    private const string ReferenceWeightsFile = "reference.safetensors";

    private const int VocabSize = 256;
    private const int ContextLength = 16;
    private const int BatchSize = 3;

    // Added to the initialization so LayerNorm gains and biases are not exactly 1 and 0 and attention is far from
    // uniform: at the initial 0.02 scale the score gradients are too small for a tolerance to notice a wrong one.
    private const double WeightNoise = 0.3;

    // The positional/tied variants, then the architecture options: each one alone, and all of them together.
    private static readonly (string Name, string Positional, bool Tied, (string Key, object Value)[] Options)[] Variants =
    [
        ("sinusoidal-untied", GptModel.Sinusoidal, false, []),
        ("sinusoidal-tied", GptModel.Sinusoidal, true, []),
        ("learned-untied", GptModel.Learned, false, []),
        ("learned-tied", GptModel.Learned, true, []),
        ("rope-tied", GptModel.Rope, true, [("rope_base", 500.0)]),
        ("rmsnorm", GptModel.Learned, false, [("norm", GptModel.RmsNorm)]),
        ("swiglu", GptModel.Learned, true, [("activation", GptModel.SwiGlu)]),
        ("relu2", GptModel.Sinusoidal, false, [("activation", GptModel.ReluSquared)]),
        ("qk-norm", GptModel.Learned, false, [("qk_norm", true)]),
        ("rope-all-options", GptModel.Rope, true, [("norm", GptModel.RmsNorm), ("activation", GptModel.SwiGlu), ("qk_norm", true)]),
    ];

    public static void Run(string directory)
    {
        for (var i = 0; i < Variants.Length; i++)
        {
            var (name, positional, tied, options) = Variants[i];
            var folder = Path.Combine(directory, name);
            Directory.CreateDirectory(folder);
            var loss = Dump(folder, positional, tied, options, seed: i + 1);
            Console.WriteLine($"nanollm {name,-18} loss {loss:F6}  → {folder}");
        }
    }

    /// <summary>
    /// Loads each variant's <c>reference.safetensors</c> (the twin's save of the same weights) with
    /// <see cref="Cortex.Load"/> and compares it with NanoLlm's own file; returns how many variants differ.
    /// </summary>
    public static int CheckReferenceWeights(string directory)
    {
        var failures = 0;
        foreach (var folder in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            string verdict;
            try
            {
                var own = Cortex.Load(Path.Combine(folder, WeightsFile));
                var reference = Cortex.Load(Path.Combine(folder, ReferenceWeightsFile));
                var same = own.Model.Spec.Hyperparameters.ToJson() == reference.Model.Spec.Hyperparameters.ToJson()
                    && own.Tokenizer.VocabSize == reference.Tokenizer.VocabSize
                    && own.Model.Parameters.Values.AsSpan().SequenceEqual(reference.Model.Parameters.Values);
                verdict = same ? "the same model" : "a DIFFERENT model";
                failures += same ? 0 : 1;
            }
            catch (WeightsFileException e)
            {
                verdict = $"an unreadable file: {e.Message}";
                failures++;
            }
            Console.WriteLine($"nanollm reads the twin's {Path.GetFileName(folder)} weights as {verdict}");
        }
        return failures;
    }

    private static float Dump(string folder, string positional, bool tied, (string Key, object Value)[] options, int seed)
    {
        var values = new Dictionary<string, SettingValue>
        {
            ["context_length"] = new((long)ContextLength, "parity"),
            ["embedding_size"] = new(32L, "parity"),
            ["layers"] = new(2L, "parity"),
            ["heads"] = new(4L, "parity"),
            ["ffn_ratio"] = new(4L, "parity"),
            ["positional"] = new(positional, "parity"),
            ["tie_embeddings"] = new(tied, "parity"),
        };
        foreach (var (key, value) in options)
        {
            values[key] = new(value, "parity");
        }
        var settings = new SettingsSection("model", "parity", values);
        var model = new GptModel(VocabSize, settings);
        var random = new Random(seed);
        model.Initialize(random);
        var noise = new float[model.Parameters.Count];
        Initialization.Normal(noise, WeightNoise, random);
        for (var i = 0; i < noise.Length; i++)
        {
            model.Parameters.Values[i] += noise[i];
        }
        new Cortex(model, Tokenizer.ByteLevel).Save(Path.Combine(folder, WeightsFile));

        var rows = BatchSize * ContextLength;
        int[] inputs = [.. Enumerable.Range(0, rows).Select(_ => random.Next(VocabSize))];
        int[] targets = [.. Enumerable.Range(0, rows).Select(_ => random.Next(VocabSize))];
        var batch = new Dictionary<string, object>
        {
            ["batch_size"] = BatchSize,
            ["length"] = ContextLength,
            ["inputs"] = inputs,
            ["targets"] = targets,
        };
        File.WriteAllText(Path.Combine(folder, BatchFile), JsonSerializer.Serialize(batch));

        model.Parameters.ZeroGrads();
        var loss = model.Forward(inputs, targets, BatchSize, ContextLength);
        model.Backward();

        var outputs = new List<NamedTensor>
        {
            new("loss", [1], new[] { loss }),
            new("logits", [BatchSize, ContextLength, VocabSize], model.Logits.ToArray()),
        };
        outputs.AddRange(model.Parameters.Parameters.Select(p => new NamedTensor($"grad.{p.Name}", p.Shape, model.Parameters.Grads.AsMemory(p.Offset, p.Length))));
        SafeTensors.Write(Path.Combine(folder, OutputsFile), outputs, new Dictionary<string, string>());
        return loss;
    }
}
