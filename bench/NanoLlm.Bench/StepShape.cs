using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// The GPT and batch a training-step benchmark runs: a named case (<see cref="Named"/>) or explicit keys
/// (<c>layers=6,channels=384,heads=6,length=256,batch=16,vocab=256[,context=…]</c>, the rest from baby), each nanoGPT's
/// architecture (learned positions, tied head, GELU, no dropout) trained by AdamW; or a run file's model, batch and
/// optimizer (<see cref="FromRunFile"/>).
/// </summary>
public sealed record StepShape(string Name, int Batch, int Length, int Channels, int Layers, int Heads, int Vocab, int Context)
{
    public static readonly StepShape Baby = new("baby", 12, 64, 128, 4, 4, 256, 64);

    /// <summary>baby (nanoGPT's Shakespeare recipe), 10m (bench-peers' larger case), GPT-2 124M at T = 64 and 1,024.</summary>
    public static IReadOnlyDictionary<string, StepShape> Named { get; } = new Dictionary<string, StepShape>(StringComparer.Ordinal)
    {
        ["baby"] = Baby,
        ["10m"] = new("10m", 16, 256, 384, 6, 6, 256, 256),
        ["gpt2-64"] = new("gpt2-64", 4, 64, 768, 12, 12, 50_304, 1_024),
        ["gpt2-1024"] = new("gpt2-1024", 4, 1_024, 768, 12, 12, 50_304, 1_024),
    };

    public int Rows => Batch * Length;

    /// <summary>The run file this shape was read from; null for a named or keyed shape.</summary>
    public RunConfig? RunFile { get; init; }

    /// <summary>AdamW's rate (the optimizer's, scaled as the schedule scales it) for the timed updates: the run file's <c>learning_rate</c>, else 1e-3.</summary>
    public float LearningRate => (float)(RunFile?.Training.LearningRate ?? 1e-3);

    /// <summary>The run file's <c>grad_clip</c> (0: no clipping, the norm is still measured), else 1.</summary>
    public double GradClip => RunFile?.Training.GradClip ?? 1.0;

    /// <summary>The rate of the residual stream's dropout (embeddings and each branch's output) in training.</summary>
    public float Dropout => (float)(RunFile?.Model.Hyperparameters.GetDouble("dropout", 0, 0, 0.9) ?? 0);

    /// <summary>
    /// The GPT of a run file's <c>[model]</c> (every option), trained on batches of <c>[training] batch_size</c> ×
    /// <c>context_length</c> by its <c>optimizer</c>.
    /// </summary>
    /// <exception cref="ConfigException">The file is unreadable or invalid, or its model is not a GPT.</exception>
    public static StepShape FromRunFile(string path)
    {
        var config = RunConfigLoader.Load(path);
        if (config.Model.Name != GptModel.Name)
        {
            throw new ConfigException($"{path}: [model] name is \"{config.Model.Name}\": the step benchmark times a GPT's step, name = \"{GptModel.Name}\"");
        }
        var model = new GptModel(config.Model.VocabSize, config.Model.Hyperparameters);
        var length = model.Spec.ContextLength;
        var channels = model.Parameters["wte"].Shape[1];
        return new StepShape(path, config.Training.BatchSize, length, channels, model.AttentionLayers, model.AttentionHeads, config.Model.VocabSize, length)
        {
            RunFile = config,
        };
    }

    /// <summary>A named case or comma-separated <c>key=value</c> pairs.</summary>
    /// <exception cref="ConfigException">An unknown name or key, or a value that is not a positive integer.</exception>
    public static StepShape Parse(string text)
    {
        if (Named.TryGetValue(text, out var named))
        {
            return named;
        }
        if (!text.Contains('=', StringComparison.Ordinal))
        {
            throw new ConfigException($"BENCH_SHAPE \"{text}\" is not a case: use one of {string.Join(", ", Named.Keys)} or keys like layers=6,channels=384,heads=6,length=256,batch=16,vocab=256");
        }
        var shape = Baby with { Name = text };
        var contextGiven = false;
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            {
                throw new ConfigException($"BENCH_SHAPE \"{pair}\": write key=N with N a positive integer");
            }
            shape = parts[0] switch
            {
                "layers" => shape with { Layers = value },
                "channels" => shape with { Channels = value },
                "heads" => shape with { Heads = value },
                "length" => shape with { Length = value },
                "batch" => shape with { Batch = value },
                "vocab" => shape with { Vocab = value },
                "context" => shape with { Context = value },
                _ => throw new ConfigException($"BENCH_SHAPE key \"{parts[0]}\" is unknown: the keys are layers, channels, heads, length, batch, vocab, context"),
            };
            contextGiven |= parts[0] == "context";
        }
        if (!contextGiven)
        {
            shape = shape with { Context = shape.Length };
        }
        if (shape.Channels % shape.Heads != 0 || shape.Length > shape.Context)
        {
            throw new ConfigException($"BENCH_SHAPE \"{text}\": heads must divide channels and length must not exceed context");
        }
        return shape;
    }

    /// <summary>The GPT of this shape, not yet initialized.</summary>
    public GptModel CreateModel() => RunFile is { } config ? new(config.Model.VocabSize, config.Model.Hyperparameters) : new(Vocab, new SettingsSection("model", "bench", new Dictionary<string, SettingValue>
    {
        ["context_length"] = new((long)Context, "bench"),
        ["embedding_size"] = new((long)Channels, "bench"),
        ["layers"] = new((long)Layers, "bench"),
        ["heads"] = new((long)Heads, "bench"),
        ["positional"] = new(GptModel.Learned, "bench"),
        ["tie_embeddings"] = new(true, "bench"),
    }));

    /// <summary>The run file's optimizer over <paramref name="parameters"/>; AdamW with its defaults for a named or keyed shape.</summary>
    public IOptimizer CreateOptimizer(ParameterSet parameters) =>
        RunFile is { } config ? Optimizers.Create(config.Training, parameters) : new AdamW(new OptimizerSettings(), parameters.Count);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: B={Batch} T={Length} C={Channels} layers={Layers} heads={Heads} V={Vocab} context={Context}")
        + (RunFile is { } config ? $", {string.Join(", ", config.Model.Hyperparameters.Resolved.Select(p => $"{p.Key}={Convert.ToString(p.Value, CultureInfo.InvariantCulture)}"))}, optimizer={config.Training.Optimizer}" : "");
}
