using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Bench;

/// <summary>
/// The GPT and batch a training-step benchmark runs: a named case (<see cref="Named"/>) or explicit keys
/// (<c>layers=6,channels=384,heads=6,length=256,batch=16,vocab=256[,context=…]</c>, the rest from baby). Every case is
/// nanoGPT's architecture: learned positions, tied head, GELU, no dropout.
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
    public GptModel CreateModel() => new(Vocab, new SettingsSection("model", "bench", new Dictionary<string, SettingValue>
    {
        ["context_length"] = new((long)Context, "bench"),
        ["embedding_size"] = new((long)Channels, "bench"),
        ["layers"] = new((long)Layers, "bench"),
        ["heads"] = new((long)Heads, "bench"),
        ["positional"] = new(GptModel.Learned, "bench"),
        ["tie_embeddings"] = new(true, "bench"),
    }));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: B={Batch} T={Length} C={Channels} layers={Layers} heads={Heads} V={Vocab} context={Context}");
}
