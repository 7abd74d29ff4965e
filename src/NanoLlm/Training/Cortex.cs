using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tokenization;

namespace NanoLlm.Training;

/// <summary>
/// A model with its tokenizer: what the programs use. Trains from a run file, generates text as a stream of
/// pieces, and saves to / loads from one weights file that holds both (so chat needs nothing else).
/// </summary>
public sealed class Cortex
{
    public const string FormatName = "nanollm";
    public const string FormatVersion = "1";

    public Cortex(ILanguageModel model, Bpe tokenizer)
    {
        if (model.Spec.VocabSize != tokenizer.VocabSize)
        {
            throw new ArgumentException($"The model has {model.Spec.VocabSize} tokens, the tokenizer {tokenizer.VocabSize}.", nameof(tokenizer));
        }
        Model = model;
        Tokenizer = tokenizer;
    }

    public ILanguageModel Model { get; }

    public Bpe Tokenizer { get; }

    /// <summary>
    /// Reads the corpus, trains the tokenizer (when <c>vocab_size</c> &gt; 256) and the model, and writes the weights
    /// to <c>[weights] path</c>. Cancelling stops after the current step; the weights trained so far are still written.
    /// </summary>
    public static (Cortex Cortex, TrainingSummary Summary) Train(RunConfig config, Action<TrainingProgress>? progress, CancellationToken cancellation)
    {
        var text = ReadCorpus(config);
        var tokenizer = config.Model.VocabSize == Bpe.ByteLevel.VocabSize ? Bpe.ByteLevel : Bpe.Train(text, config.Model.VocabSize);
        var model = ModelRegistry.Create(config.Model.Name, tokenizer.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(config.Training.Seed));

        var tokens = tokenizer.Encode(text);
        var (train, validation) = TokenSplit.Split(tokens, BytesPerToken(tokenizer), config.Training.ValFraction);
        if (train.Length < 2)
        {
            throw new ConfigException($"{config.Path}: [training] corpus {config.Training.Corpus} is too short to train on: it needs at least two tokens");
        }
        var trainer = new Trainer(model, Optimizers.Create(config.Training, model.Parameters), config.Training, train.Length);
        var summary = trainer.Run(train, validation, progress, cancellation);

        var cortex = new Cortex(model, tokenizer);
        cortex.Save(config.Weights.Path);
        return (cortex, summary);
    }

    /// <summary>
    /// One completion of <paramref name="prompt"/> in a conversation of its own, yielding text as soon as it is whole
    /// UTF-8: the same settings and prompt give the same text every time.
    /// </summary>
    public IEnumerable<string> Generate(string prompt, SamplingSettings settings, CancellationToken cancellation = default) =>
        StartConversation(settings).Reply(prompt, cancellation);

    /// <summary>Opens turns of text with this model that keep its context and one random stream (the chat's model side).</summary>
    public Conversation StartConversation(SamplingSettings settings) => new(Model, Tokenizer, settings);

    public void Save(string path)
    {
        var tensors = Model.Parameters.Parameters
            .Select(p => new NamedTensor(p.Name, p.Shape, Model.Parameters.Values.AsMemory(p.Offset, p.Length)))
            .ToList();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion,
            ["model"] = Model.Spec.Name,
            ["vocab_size"] = Model.Spec.VocabSize.ToString(CultureInfo.InvariantCulture),
            ["hyperparameters"] = Model.Spec.Hyperparameters.ToJson(),
            ["tokenizer"] = Tokenizer.ToMetadata(),
        };
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Loads a weights file written by <see cref="Save"/>; anything wrong is a <see cref="WeightsFileException"/>.</summary>
    public static Cortex Load(string path)
    {
        var file = SafeTensors.Read(path);
        var metadata = file.Metadata;
        if (!metadata.TryGetValue("format", out var format) || format != FormatName)
        {
            throw new WeightsFileException($"{path}: not a NanoLlm weights file (its metadata has no format = {FormatName})");
        }
        if (metadata.GetValueOrDefault("format_version") != FormatVersion)
        {
            throw new WeightsFileException($"{path}: weights format version {metadata.GetValueOrDefault("format_version")} is not supported (this build reads {FormatVersion}): train again");
        }

        Bpe tokenizer;
        ILanguageModel model;
        try
        {
            tokenizer = Bpe.FromMetadata(Required(metadata, "tokenizer", path));
            var hyperparameters = SettingsSection.FromJson("model", $"{path} (metadata)", Required(metadata, "hyperparameters", path));
            model = ModelRegistry.Create(Required(metadata, "model", path), tokenizer.VocabSize, hyperparameters);
        }
        catch (Exception e) when (e is FormatException or ConfigException)
        {
            throw new WeightsFileException($"{path}: the metadata is not usable: {e.Message}", e);
        }

        var expected = model.Parameters.Parameters;
        if (file.Names.Count != expected.Count)
        {
            throw new WeightsFileException($"{path}: has {file.Names.Count} tensors, the {model.Spec.Name} model it describes has {expected.Count}");
        }
        foreach (var parameter in expected)
        {
            if (!file.Contains(parameter.Name))
            {
                throw new WeightsFileException($"{path}: tensor {parameter.Name} is missing");
            }
            var shape = file.Shape(parameter.Name);
            if (!shape.AsSpan().SequenceEqual(parameter.Shape))
            {
                throw new WeightsFileException(
                    $"{path}: tensor {parameter.Name} has shape [{string.Join(", ", shape)}], the model needs [{string.Join(", ", parameter.Shape)}]");
            }
            file.CopyTo(parameter.Name, parameter.Values);
        }
        return new Cortex(model, tokenizer);
    }

    private static string Required(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out var value) ? value : throw new WeightsFileException($"{path}: metadata key {key} is missing");

    private static byte[] ReadCorpus(RunConfig config)
    {
        try
        {
            return File.ReadAllBytes(config.Training.Corpus);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            throw new ConfigException($"{config.Path}: [training] corpus: cannot read {config.Training.Corpus} ({reason})", e);
        }
    }

    private static int[] BytesPerToken(Bpe tokenizer)
    {
        var lengths = new int[tokenizer.VocabSize];
        for (var token = 0; token < lengths.Length; token++)
        {
            lengths[token] = tokenizer.TokenBytes(token).Length;
        }
        return lengths;
    }
}
