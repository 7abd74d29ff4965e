using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Interop;

/// <summary>
/// The sizes that define a GPT-2 (Radford et al. 2019) and the NanoLlm GPT that computes it: learned positions, pre-norm
/// blocks with biases, LayerNorm ε = 1e-5, GELU in its tanh form, no dropout at inference, the head tied to the token
/// embedding unless <see cref="TiedHead"/> is false. GPT-2 124M is 12 layers, 12 heads, 768 channels, 1,024 positions and
/// 50,257 tokens.
/// </summary>
public sealed record Gpt2Shape(int Layers, int Heads, int Channels, int ContextLength, int VocabSize, int FeedForwardSize, bool TiedHead = true)
{
    private static readonly (string Key, object Value)[] Gpt2Architecture =
    [
        ("norm", GptModel.LayerNorm),
        ("activation", GptModel.Gelu),
        ("qk_norm", false),
    ];

    /// <summary>The hyperparameters of the NanoLlm <c>gpt</c> model with this shape.</summary>
    public SettingsSection Hyperparameters(string origin)
    {
        var json = string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"context_length":{{ContextLength}},"embedding_size":{{Channels}},"layers":{{Layers}},"heads":{{Heads}},"ffn_ratio":{{FeedForwardSize / Channels}},"positional":"learned","tie_embeddings":{{(TiedHead ? "true" : "false")}},"dropout":0}""");
        return SettingsSection.FromJson("model", origin, json);
    }

    /// <summary>A NanoLlm GPT of this shape, its parameters zero (an importer fills them).</summary>
    public GptModel CreateModel(string origin) => (GptModel)ModelRegistry.Create(GptModel.Name, VocabSize, Hyperparameters(origin));

    /// <summary>
    /// The GPT-2 shape of <paramref name="model"/>, or a <see cref="ConfigException"/> saying why GPT-2 cannot express it
    /// (another model, sinusoidal positions). Dropout is a training setting and does not matter here.
    /// </summary>
    public static Gpt2Shape Of(ILanguageModel model, string origin)
    {
        if (model is not GptModel || model.Spec.Name != GptModel.Name)
        {
            throw new ConfigException($"{origin}: a {model.Spec.Name} model has no GPT-2 form: only the gpt model exports to GPT-2's formats");
        }
        var settings = model.Spec.Hyperparameters.Resolved;
        if ((string)settings["positional"] != GptModel.Learned)
        {
            throw new ConfigException($"{origin}: the model has {settings["positional"]} positions; GPT-2 learns its positions: train with [model] positional = \"learned\" to export");
        }
        // GPT-2's block is LayerNorm, GELU and plain attention: an architecture option it cannot express is refused.
        foreach (var (key, gpt2) in Gpt2Architecture)
        {
            if (settings.TryGetValue(key, out var value) && !Equals(value, gpt2))
            {
                throw new ConfigException(
                    $"{origin}: the model has [model] {key} = {Format(value)}; GPT-2 has {key} = {Format(gpt2)}: train without it to export to GPT-2's formats");
            }
        }
        var channels = Convert.ToInt32(settings["embedding_size"], CultureInfo.InvariantCulture);
        return new Gpt2Shape(
            Layers: Convert.ToInt32(settings["layers"], CultureInfo.InvariantCulture),
            Heads: Convert.ToInt32(settings["heads"], CultureInfo.InvariantCulture),
            Channels: channels,
            ContextLength: model.Spec.ContextLength,
            VocabSize: model.Spec.VocabSize,
            FeedForwardSize: channels * Convert.ToInt32(settings["ffn_ratio"], CultureInfo.InvariantCulture),
            TiedHead: (bool)settings["tie_embeddings"]);
    }

    private static string Format(object value) => value switch
    {
        string text => $"\"{text}\"",
        bool flag => flag ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
