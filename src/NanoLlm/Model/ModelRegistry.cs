using NanoLlm.Config;

namespace NanoLlm.Model;

/// <summary>
/// The model name in a run file picks the model. One entry per model: its name and how to build it from its
/// <c>[model]</c> keys (read through <see cref="SettingsSection"/>, which also rejects keys the model does not take).
/// </summary>
public static class ModelRegistry
{
    /// <param name="Create">Builds the model for a vocabulary size from its hyperparameters.</param>
    public sealed record Entry(string Name, string Description, Func<int, SettingsSection, ILanguageModel> Create);

    public static IReadOnlyList<Entry> Entries { get; } =
    [
        new(BigramModel.Name, "next token from the current token: a V×V table", (vocabSize, settings) => new BigramModel(vocabSize, settings)),
        new(MlpModel.Name, "embeddings of the last N tokens → Linear + ReLU layers → logits", (vocabSize, settings) => new MlpModel(vocabSize, settings)),
        new(GptModel.Name, "transformer: causal multi-head attention + GELU feed-forward blocks", (vocabSize, settings) => new GptModel(vocabSize, settings)),
    ];

    /// <summary>
    /// Builds the model named <paramref name="name"/>; an unknown name or key, or more parameters than one buffer
    /// holds, is a <see cref="ConfigException"/>.
    /// </summary>
    public static ILanguageModel Create(string name, int vocabSize, SettingsSection hyperparameters) =>
        Create(name, vocabSize, hyperparameters, Array.MaxLength, "one buffer holds no more: make the model smaller");

    /// <summary>
    /// Builds the model a file describes, refusing (before allocating it) one of more than <paramref name="maxParameters"/>
    /// parameters, so a file's metadata cannot ask for more memory than its size warrants.
    /// </summary>
    public static ILanguageModel Create(string name, int vocabSize, SettingsSection hyperparameters, long maxParameters) =>
        Create(name, vocabSize, hyperparameters, maxParameters, "the file's tensors are far smaller");

    private static ILanguageModel Create(string name, int vocabSize, SettingsSection hyperparameters, long maxParameters, string reason)
    {
        var entry = Entries.FirstOrDefault(e => e.Name == name)
            ?? throw new ConfigException(
                $"{hyperparameters.OriginOf("name")}: unknown model \"{name}\": the models are {string.Join(", ", Entries.Select(e => e.Name))}");
        hyperparameters.Accept("name", "vocab_size");
        ILanguageModel model;
        using (ParameterSet.LimitTo(Math.Min(maxParameters, Array.MaxLength), hyperparameters.Origin, reason))
        {
            model = entry.Create(vocabSize, hyperparameters);
        }
        hyperparameters.RejectUnknownKeys();
        return model;
    }
}
