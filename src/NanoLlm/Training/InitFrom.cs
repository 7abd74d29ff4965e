using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;

namespace NanoLlm.Training;

/// <summary>
/// <c>[training] init_from</c>: a run that starts from a weights file (fine-tuning, as nanoGPT's <c>init_from</c>).
/// The file gives the model, its parameters and its tokenizer; the run file's <c>[model]</c> may be omitted, and each
/// key it does set must agree with the file's — but for <c>dropout</c> and <c>attention_dropout</c>, which shape no
/// parameter and are the usual things to change when fine-tuning.
/// </summary>
public static class InitFrom
{
    private static readonly string[] FreeKeys = ["dropout", "attention_dropout"];

    /// <summary>
    /// The run file with <c>[model]</c> completed from its <c>init_from</c> file's metadata (unchanged without
    /// init_from); a key that disagrees is a <see cref="ConfigException"/> naming it and the file's value.
    /// </summary>
    public static RunConfig Resolve(RunConfig config)
    {
        if (config.Training.InitFrom is not { } path)
        {
            return config;
        }
        var metadata = SafeTensors.ReadMetadata(path);
        if (metadata.GetValueOrDefault("format") != Cortex.FormatName || !metadata.ContainsKey("model") || !metadata.ContainsKey("hyperparameters")
            || !int.TryParse(metadata.GetValueOrDefault("vocab_size"), NumberStyles.None, CultureInfo.InvariantCulture, out var vocabSize))
        {
            throw new ConfigException(
                $"{config.Path}: [training] init_from {path} is not a NanoLlm weights file: import foreign checkpoints first (make import)");
        }
        var origin = $"{path} (metadata)";
        var written = config.Model.Hyperparameters.Written;
        var fileSettings = SettingsSection.FromJson("model", origin, metadata["hyperparameters"]).Written;
        var modelName = metadata["model"];
        Agree(config, "name", config.Model.Name, modelName, written);
        Agree(config, "vocab_size", config.Model.VocabSize, vocabSize, written);
        var merged = new Dictionary<string, SettingValue>(fileSettings, StringComparer.Ordinal);
        foreach (var (key, value) in written)
        {
            if (key is "name" or "vocab_size")
            {
                continue;
            }
            if (Array.IndexOf(FreeKeys, key) >= 0)
            {
                merged[key] = value;
                continue;
            }
            if (!fileSettings.TryGetValue(key, out var fileValue))
            {
                throw new ConfigException($"{value.Origin}: [model] {key} is not a key of the {modelName} model in init_from {path}: remove it");
            }
            Agree(config, key, value.Value, fileValue.Value, written);
        }
        var model = new ModelSettings(modelName, vocabSize, new SettingsSection("model", origin, merged));
        return config with { Model = model };
    }

    /// <summary>The model of the <c>init_from</c> file with its parameters and tokenizer, built with the resolved <c>[model]</c> (its dropout).</summary>
    internal static Cortex Load(RunConfig resolved)
    {
        var file = Cortex.Load(resolved.Training.InitFrom!);
        var model = ModelRegistry.Create(resolved.Model.Name, resolved.Model.VocabSize, resolved.Model.Hyperparameters);
        file.Model.Parameters.Values.CopyTo(model.Parameters.Values, 0);
        return new Cortex(model, file.Tokenizer);
    }

    private static void Agree(RunConfig config, string key, object runValue, object fileValue, IReadOnlyDictionary<string, SettingValue> written)
    {
        if (!written.TryGetValue(key, out var setting) && key is "name" or "vocab_size")
        {
            return;
        }
        if (!SameValue(runValue, fileValue))
        {
            throw new ConfigException(
                $"{setting?.Origin ?? config.Path}: [model] {key} = {Format(runValue)} disagrees with init_from {config.Training.InitFrom}, whose {key} is {Format(fileValue)}: set it to {Format(fileValue)} or remove it");
        }
    }

    private static bool SameValue(object a, object b) => (a, b) switch
    {
        (long or int or double, long or int or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture),
        _ => a.Equals(b),
    };

    private static string Format(object value) => value switch
    {
        string text => $"\"{text}\"",
        bool flag => flag ? "true" : "false",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
