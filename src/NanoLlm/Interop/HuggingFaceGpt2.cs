using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NanoLlm.Model;
using NanoLlm.Storage;

namespace NanoLlm.Interop;

/// <summary>
/// Hugging Face's GPT-2 directory (<c>GPT2LMHeadModel</c>, as <c>modeling_gpt2.py</c> lays it out): <c>config.json</c>
/// gives the shape, <c>model.safetensors</c> the tensors, with or without the <c>transformer.</c> prefix, the four
/// projections in Conv1D's [in, out] layout, the head tied to <c>wte</c> (<c>lm_head.weight</c> absent or equal to it)
/// and the attention mask buffers (<c>attn.bias</c>, <c>attn.masked_bias</c>) ignored. A pickled
/// <c>pytorch_model.bin</c> is refused: nothing foreign is ever executed.
/// </summary>
public static class HuggingFaceGpt2
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string GenerationConfigFile = "generation_config.json";
    public const string PickleFile = "pytorch_model.bin";

    // GPT-2's GELU: "gelu_new" (OpenAI's tanh form); "gelu_pytorch_tanh" is the same function computed by PyTorch.
    private static readonly string[] TanhGelu = ["gelu_new", "gelu_pytorch_tanh"];

    /// <summary>Whether <paramref name="directory"/> looks like a Hugging Face model (it has a config.json).</summary>
    public static bool IsModelDirectory(string directory) => File.Exists(Path.Combine(directory, ConfigFile));

    /// <summary>The shape <c>config.json</c> describes; anything NanoLlm's GPT cannot compute is a <see cref="WeightsFileException"/>.</summary>
    public static Gpt2Shape ReadConfig(string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        var config = ReadJsonObject(path);
        string Where(string key) => $"{path}: {key}";
        var modelType = OptionalString(config, "model_type", path);
        if (modelType is not null and not "gpt2")
        {
            throw new WeightsFileException($"{Where("model_type")} is \"{modelType}\": NanoLlm imports GPT-2 (\"gpt2\") models only");
        }
        var activation = OptionalString(config, "activation_function", path) ?? "gelu_new";
        if (Array.IndexOf(TanhGelu, activation) < 0)
        {
            throw new WeightsFileException($"{Where("activation_function")} is \"{activation}\": NanoLlm's GPT computes GELU's tanh form, {string.Join(" or ", TanhGelu)}");
        }
        var epsilon = OptionalNumber(config, "layer_norm_epsilon", path) ?? 1e-5;
        if (Math.Abs(epsilon - 1e-5) > 1e-12)
        {
            throw new WeightsFileException($"{Where("layer_norm_epsilon")} is {epsilon.ToString(CultureInfo.InvariantCulture)}: NanoLlm's LayerNorm uses 1e-5, as GPT-2 does");
        }
        foreach (var (key, expected) in (ReadOnlySpan<(string, bool)>)[("scale_attn_weights", true), ("scale_attn_by_inverse_layer_idx", false), ("add_cross_attention", false)])
        {
            if (config[key] is JsonValue value && value.TryGetValue<bool>(out var flag) && flag != expected)
            {
                throw new WeightsFileException($"{Where(key)} is {(flag ? "true" : "false")}: NanoLlm's GPT computes GPT-2's attention, which needs {(expected ? "true" : "false")}");
            }
        }
        var layers = RequiredInt(config, "n_layer", path, 1, 256);
        var heads = RequiredInt(config, "n_head", path, 1, 1024);
        var channels = RequiredInt(config, "n_embd", path, 1, 16_384);
        var positions = RequiredInt(config, "n_positions", path, 1, 8192);
        var vocabSize = RequiredInt(config, "vocab_size", path, 1, 65_536);
        var feedForward = config["n_inner"] is null ? 4 * channels : RequiredInt(config, "n_inner", path, 1, 1 << 20);
        if (channels % heads != 0)
        {
            throw new WeightsFileException($"{Where("n_head")} {heads} does not divide n_embd {channels}");
        }
        if (feedForward % channels != 0)
        {
            throw new WeightsFileException($"{Where("n_inner")} {feedForward} is not a multiple of n_embd {channels}, which NanoLlm's feed-forward ratio needs");
        }
        var tied = config["tie_word_embeddings"] is not JsonValue tie || !tie.TryGetValue<bool>(out var tiedFlag) || tiedFlag;
        return new Gpt2Shape(layers, heads, channels, positions, vocabSize, feedForward, tied);
    }

    /// <summary>
    /// The model of a Hugging Face GPT-2 directory, its parameters read from <c>model.safetensors</c>. A tensor missing,
    /// of the wrong shape or not GPT-2's (a block past <c>n_layer</c>, say) is a <see cref="WeightsFileException"/> naming it.
    /// </summary>
    public static GptModel ReadModel(string directory)
    {
        var weightsPath = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weightsPath) && File.Exists(Path.Combine(directory, PickleFile)))
        {
            throw new WeightsFileException(
                $"{Path.Combine(directory, PickleFile)}: a pickle, which NanoLlm never loads (unpickling runs code): convert it to {WeightsFile} first (transformers: model.save_pretrained(dir, safe_serialization=True))");
        }
        var shape = ReadConfig(directory);
        var file = SafeTensors.Read(weightsPath);
        var model = shape.CreateModel($"{Path.Combine(directory, ConfigFile)}");
        var prefix = file.Names.Any(n => n.StartsWith(Gpt2Names.HuggingFacePrefix, StringComparison.Ordinal)) ? Gpt2Names.HuggingFacePrefix : "";
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in Gpt2Names.Table(shape.Layers, shape.TiedHead))
        {
            var parameter = model.Parameters[entry.NanoLlm];
            var name = entry.HuggingFace == Gpt2Names.HuggingFaceHead ? entry.HuggingFace : prefix + entry.HuggingFace;
            var expected = entry.Conv1D ? [parameter.Shape[1], parameter.Shape[0]] : parameter.Shape;
            Read(file, name, expected, weightsPath, entry.Conv1D ? null : parameter.Values, out var values);
            if (entry.Conv1D)
            {
                Gpt2Names.Transpose(parameter.Values, values, expected[0], expected[1]);
            }
            used.Add(name);
        }
        if (shape.TiedHead && file.Contains(Gpt2Names.HuggingFaceHead))
        {
            Read(file, Gpt2Names.HuggingFaceHead, model.Parameters["wte"].Shape, weightsPath, null, out var head);
            if (!head.AsSpan().SequenceEqual(model.Parameters["wte"].Values))
            {
                throw new WeightsFileException(
                    $"{weightsPath}: tensor {Gpt2Names.HuggingFaceHead} differs from {prefix}wte.weight while {ConfigFile} ties them (tie_word_embeddings is true)");
            }
            used.Add(Gpt2Names.HuggingFaceHead);
        }
        foreach (var name in file.Names)
        {
            if (!used.Contains(name) && !name.EndsWith(".attn.bias", StringComparison.Ordinal) && !name.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
            {
                throw new WeightsFileException($"{weightsPath}: tensor {name} is not part of the GPT-2 {ConfigFile} describes ({shape.Layers} layers{(shape.TiedHead ? ", tied head" : "")})");
            }
        }
        return model;
    }

    /// <summary>
    /// Writes <c>config.json</c> (<c>GPT2LMHeadModel</c>), <c>model.safetensors</c> (the <c>transformer.</c> names, Conv1D
    /// layout, no <c>lm_head.weight</c> when tied, as <c>save_pretrained</c> does) and <c>generation_config.json</c>.
    /// The tokenizer's files are written beside them by the caller.
    /// </summary>
    /// <param name="endOfText">The end-of-text token, GPT-2's bos and eos (50256), or null when the tokenizer has none.</param>
    public static void WriteModel(string directory, GptModel model, Gpt2Shape shape, int? endOfText)
    {
        Directory.CreateDirectory(directory);
        var tensors = new List<NamedTensor>();
        foreach (var entry in Gpt2Names.Table(shape.Layers, shape.TiedHead))
        {
            var parameter = model.Parameters[entry.NanoLlm];
            var name = entry.HuggingFace == Gpt2Names.HuggingFaceHead ? entry.HuggingFace : Gpt2Names.HuggingFacePrefix + entry.HuggingFace;
            if (entry.Conv1D)
            {
                var (outputs, inputs) = (parameter.Shape[0], parameter.Shape[1]);
                var conv = new float[parameter.Length];
                Gpt2Names.Transpose(conv, parameter.Values, outputs, inputs);
                tensors.Add(new NamedTensor(name, [inputs, outputs], conv));
            }
            else
            {
                tensors.Add(new NamedTensor(name, parameter.Shape, parameter.Values.ToArray()));
            }
        }
        // transformers refuses a safetensors file whose metadata does not say which framework wrote it.
        SafeTensors.Write(Path.Combine(directory, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        WriteJson(Path.Combine(directory, ConfigFile), Config(shape, endOfText));
        var generation = new JsonObject();
        if (endOfText is int token)
        {
            generation["bos_token_id"] = token;
            generation["eos_token_id"] = token;
        }
        WriteJson(Path.Combine(directory, GenerationConfigFile), generation);
    }

    private static JsonObject Config(Gpt2Shape shape, int? endOfText)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["activation_function"] = "gelu_new",
            ["layer_norm_epsilon"] = 1e-5,
            ["n_layer"] = shape.Layers,
            ["n_head"] = shape.Heads,
            ["n_embd"] = shape.Channels,
            ["n_positions"] = shape.ContextLength,
            ["n_ctx"] = shape.ContextLength,
            ["n_inner"] = shape.FeedForwardSize == 4 * shape.Channels ? null : shape.FeedForwardSize,
            ["vocab_size"] = shape.VocabSize,
            ["tie_word_embeddings"] = shape.TiedHead,
            ["initializer_range"] = 0.02,
            ["attn_pdrop"] = 0.0,
            ["embd_pdrop"] = 0.0,
            ["resid_pdrop"] = 0.0,
            ["scale_attn_weights"] = true,
            ["use_cache"] = true,
        };
        if (endOfText is int token)
        {
            config["bos_token_id"] = token;
            config["eos_token_id"] = token;
        }
        return config;
    }

    private static void Read(SafeTensorsFile file, string name, int[] expected, string path, Span<float> destination, out float[] values)
    {
        if (!file.Contains(name))
        {
            throw new WeightsFileException($"{path}: tensor {name} is missing");
        }
        var shape = file.Shape(name);
        if (!shape.AsSpan().SequenceEqual(expected))
        {
            throw new WeightsFileException(
                $"{path}: tensor {name} has shape [{string.Join(", ", shape)}], {ConfigFile} says [{string.Join(", ", expected)}]");
        }
        if (destination.IsEmpty)
        {
            values = file.ToArray(name);
            return;
        }
        values = [];
        file.CopyTo(name, destination);
    }

    internal static JsonObject ReadJsonObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new WeightsFileException($"{path}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new WeightsFileException($"{path}: not valid JSON ({e.Message})", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new WeightsFileException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFileException($"{path}: cannot read ({e.Message})", e);
        }
    }

    internal static void WriteJson(string path, JsonNode node)
    {
        var text = node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    private static int RequiredInt(JsonObject config, string key, string path, int min, int max)
    {
        if (config[key] is not JsonValue value)
        {
            throw new WeightsFileException($"{path}: {key} is missing");
        }
        if (!value.TryGetValue<int>(out var number))
        {
            throw new WeightsFileException($"{path}: {key} is {value.ToJsonString()}, not a whole number");
        }
        if (number < min || number > max)
        {
            throw new WeightsFileException($"{path}: {key} is {number}: NanoLlm takes {min} to {max}");
        }
        return number;
    }

    private static string? OptionalString(JsonObject config, string key, string path) => config[key] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        var other => throw new WeightsFileException($"{path}: {key} is {other.ToJsonString()}, not a string"),
    };

    private static double? OptionalNumber(JsonObject config, string key, string path) => config[key] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<double>(out var number) => number,
        var other => throw new WeightsFileException($"{path}: {key} is {other.ToJsonString()}, not a number"),
    };
}
