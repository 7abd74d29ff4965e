using System.Globalization;
using System.Text.Json;
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

    public Cortex(ILanguageModel model, Tokenizer tokenizer)
    {
        if (model.Spec.VocabSize != tokenizer.VocabSize)
        {
            throw new ArgumentException($"The model has {model.Spec.VocabSize} tokens, the tokenizer {tokenizer.VocabSize}.", nameof(tokenizer));
        }
        Model = model;
        Tokenizer = tokenizer;
    }

    public ILanguageModel Model { get; }

    public Tokenizer Tokenizer { get; }

    /// <summary>
    /// Reads the corpus, trains the tokenizer (when <c>vocab_size</c> &gt; 256) and the model. The weights file at
    /// <c>[weights] path</c> always holds the weights with the best validation loss so far (the latest, without a
    /// validation split); a checkpoint beside it (<see cref="Checkpoint.PathFor"/>) holds the latest state, written
    /// every <c>checkpoint_interval</c> steps, at the end and when cancelled. <paramref name="resume"/> continues from
    /// that checkpoint exactly. With <c>init_from</c> the run starts from that weights file's model and tokenizer
    /// (<see cref="InitFrom"/>). Cancelling stops after the current step.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss or gradients became NaN or infinite; nothing written before is touched.</exception>
    public static (Cortex Cortex, TrainingSummary Summary) Train(
        RunConfig config, Action<TrainingProgress>? progress, CancellationToken cancellation, bool resume = false)
    {
        config = InitFrom.Resolve(config);
        var checkpointPath = Checkpoint.PathFor(config.Weights.Path);
        Cortex cortex;
        IOptimizer optimizer;
        var (startStep, bestValidationLoss) = (0, double.PositiveInfinity);
        var (startElapsed, startBest) = (TimeSpan.Zero, (BestValidation?)null);
        // A kill inside the last writes of a finished run leaves temporary files that no later write of it removes.
        AtomicFile.RemoveLeftovers(config.Weights.Path);
        AtomicFile.RemoveLeftovers(checkpointPath);
        if (resume)
        {
            var state = Checkpoint.Read(checkpointPath, config);
            (cortex, optimizer, startStep, bestValidationLoss) = (state.Cortex, state.Optimizer, state.Step, state.BestValidationLoss);
            (startElapsed, startBest) = (state.Elapsed, state.Best);
        }
        else
        {
            cortex = config.Training.InitFrom is null ? Initialized(config, TrainingCorpus.Tokenizer(config)) : InitFrom.Load(config);
            optimizer = Optimizers.Create(config.Training, cortex.Model.Parameters);
        }

        using var corpus = TrainingCorpus.Open(config, cortex.Tokenizer);
        var (train, validation) = (corpus.Train, corpus.Validation);
        // Encoding used about a dozen bytes per corpus byte, garbage now. Collected before the model's buffers are
        // allocated, its memory is reused for them; left to chance, a run held it besides them (13 MB more peak
        // memory for Tiny Shakespeare in about half the runs).
        GC.Collect();
        if (train.LongestSegment < 2)
        {
            throw new ConfigException($"{config.Path}: [training] corpus {config.Training.Corpus} is too short to train on: it needs at least two tokens");
        }
        var trainer = new Trainer(cortex.Model, optimizer, config.Training, train.LongestSegment)
        {
            StartStep = startStep,
            StartElapsed = startElapsed,
            StartBest = startBest,
        };
        if (resume && startStep >= trainer.TotalSteps(train.Length))
        {
            throw new ConfigException(
                $"{config.Path}: [training] steps: the checkpoint {checkpointPath} is at step {startStep} of {trainer.TotalSteps(train.Length)} already: set more steps to continue the run");
        }
        if (resume && config.Training.TimeBudgetMinutes > 0 && startElapsed >= TimeSpan.FromMinutes(config.Training.TimeBudgetMinutes))
        {
            throw new ConfigException(
                $"{config.Path}: [training] time_budget_minutes: the checkpoint {checkpointPath} has spent {startElapsed.TotalMinutes:F1} minutes already: raise it to continue the run");
        }
        var sampleSettings = new SamplingSettings(MaxNewTokens: 120, Temperature: 0.8, Seed: config.Training.Seed);
        var lastCheckpoint = resume ? startStep : 0;
        var weightsWritten = resume;
        var hooks = new TrainingHooks
        {
            Progress = progress,
            Evaluated = (_, evaluation) =>
            {
                if (evaluation is null || evaluation.Value.Loss < bestValidationLoss)
                {
                    bestValidationLoss = evaluation?.Loss ?? bestValidationLoss;
                    cortex.Save(config.Weights.Path);
                    weightsWritten = true;
                }
            },
            Checkpoint = step =>
            {
                Checkpoint.Write(
                    checkpointPath, cortex, optimizer, step, bestValidationLoss, trainer.Best, config.Training.TimeBudgetMinutes > 0 ? trainer.Elapsed : null);
                lastCheckpoint = step;
            },
            Sample = () => string.Concat(cortex.Generate(string.Empty, sampleSettings)),
        };
        try
        {
            return (cortex, trainer.Run(train, validation, hooks, cancellation));
        }
        catch (TrainingDivergedException e)
        {
            var kept = (lastCheckpoint > 0, weightsWritten) switch
            {
                (true, _) => $"the checkpoint of step {lastCheckpoint} ({checkpointPath}) and the best weights ({config.Weights.Path}) are untouched",
                (false, true) => $"the best weights so far ({config.Weights.Path}) are untouched",
                _ => "nothing was written",
            };
            throw new TrainingDivergedException(
                $"{config.Path}: {e.Message}: {kept}; lower [training] learning_rate or set grad_clip", e);
        }
    }

    /// <summary>
    /// The model of the run file before its first step: the tokenizer trained on the corpus (when <c>vocab_size</c>
    /// &gt; 256) and the parameters initialized from the seed, exactly as <see cref="Train"/> starts.
    /// </summary>
    public static Cortex Initialize(RunConfig config) => Initialized(config, TrainingCorpus.Tokenizer(config));

    private static Cortex Initialized(RunConfig config, Tokenizer tokenizer)
    {
        if (tokenizer.VocabSize > ModelSettings.MaxVocabSize)
        {
            throw new ConfigException(
                $"{config.Path}: [tokenizer] pretrained = \"{config.Tokenizer.Pretrained}\" has {tokenizer.VocabSize} tokens; a model holds at most {ModelSettings.MaxVocabSize} (16-bit token ids): use gpt2 or learn a vocabulary");
        }
        if (config.Tokenizer.Pretrained is not null && config.Model.VocabSizeGiven && config.Model.VocabSize != tokenizer.VocabSize)
        {
            throw new ConfigException(
                $"{config.Path}: [model] vocab_size = {config.Model.VocabSize}, but the vocabulary {config.Tokenizer.Pretrained} has {tokenizer.VocabSize} tokens: remove vocab_size or set it to {tokenizer.VocabSize}");
        }
        var model = ModelRegistry.Create(config.Model.Name, tokenizer.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(config.Training.Seed));
        return new Cortex(model, tokenizer);
    }

    /// <summary>
    /// The tokenizer the run file describes: bytes, a pretrained vocabulary, or merges learned on the corpus (read only
    /// then). Anything wrong (an unreadable or corrupt vocabulary, a special token it already spells, a
    /// <c>vocab_size</c> that disagrees with a pretrained vocabulary) is a <see cref="ConfigException"/> naming the key.
    /// </summary>
    public static Tokenizer BuildTokenizer(RunConfig config) => TrainingCorpus.Tokenizer(config);

    internal static Tokenizer BuildTokenizer(RunConfig config, Func<byte[]> corpus)
    {
        var settings = config.Tokenizer;
        if (settings.Kind == TokenizerSettings.BytesKind)
        {
            return Tokenizer.ByteLevel;
        }
        SplitPattern? split = settings.Split is null ? null : SplitPatterns.TryParse(settings.Split, out var pattern) ? pattern : null;
        var key = settings.Pretrained is null ? "special_tokens" : "pretrained";
        Tokenizer tokenizer;
        try
        {
            tokenizer = settings.Pretrained is { } pretrained
                ? Pretrained(pretrained, split, settings.SpecialTokens)
                : Tokenizer.Train(corpus(), config.Model.VocabSize, split ?? SplitPattern.None, settings.SpecialTokens);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? $"{settings.Pretrained}: file not found" : e.Message.TrimEnd('.');
            throw new ConfigException($"{config.Path}: [tokenizer] {key}: {reason}", e);
        }
        return tokenizer;
    }

    private static Tokenizer Pretrained(string pretrained, SplitPattern? split, IReadOnlyList<string> specials)
    {
        if (Tokenizer.IsShippedVocabulary(pretrained))
        {
            var tokenizer = Tokenizer.Pretrained(pretrained, specials);
            if (split is { } given && given != tokenizer.Split)
            {
                throw new ArgumentException($"{pretrained} is split by {SplitPatterns.Name(tokenizer.Split)}, not {SplitPatterns.Name(given)}: remove [tokenizer] split");
            }
            return tokenizer;
        }
        if (Directory.Exists(pretrained))
        {
            var (vocab, merges, json) = (Path.Combine(pretrained, "vocab.json"), Path.Combine(pretrained, "merges.txt"), Path.Combine(pretrained, "tokenizer.json"));
            if (!File.Exists(vocab) && !File.Exists(merges) && File.Exists(json))
            {
                if (split is { } given && given != SplitPattern.Gpt2)
                {
                    throw new ArgumentException($"{json} is split as GPT-2 splits (its byte-level pre-tokenizer), not by {SplitPatterns.Name(given)}: remove [tokenizer] split");
                }
                return Tokenizer.FromHuggingFaceTokenizerFile(json, specials);
            }
            return Tokenizer.FromHuggingFaceFiles(vocab, merges, split ?? SplitPattern.Gpt2, specials);
        }
        return Tokenizer.FromTiktokenFile(pretrained, split ?? throw new ArgumentException("a ranks file needs [tokenizer] split (gpt2, gpt4 or o200k)"), specials);
    }

    /// <summary>
    /// One completion of <paramref name="prompt"/> in a conversation of its own, yielding text as soon as it is whole
    /// UTF-8: the same settings and prompt give the same text every time.
    /// </summary>
    public IEnumerable<string> Generate(string prompt, SamplingSettings settings, CancellationToken cancellation = default) =>
        StartConversation(settings).Reply(prompt, cancellation);

    /// <summary>Opens turns of text with this model that keep its context and one random stream (the chat's model side).</summary>
    public Conversation StartConversation(SamplingSettings settings) => new(Model, Tokenizer, settings);

    public void Save(string path) => SafeTensors.Write(path, Tensors(), Metadata());

    /// <summary>The model's parameters as named tensors, in declaration order.</summary>
    internal List<NamedTensor> Tensors() =>
        [.. Model.Parameters.Parameters.Select(p => new NamedTensor(p.Name, p.Shape, Model.Parameters.Values.AsMemory(p.Offset, p.Length)))];

    /// <summary>What a weights file says about itself: format, model, hyperparameters and tokenizer.</summary>
    internal Dictionary<string, string> Metadata() => new()
    {
        ["format"] = FormatName,
        ["format_version"] = FormatVersion,
        ["model"] = Model.Spec.Name,
        ["vocab_size"] = Model.Spec.VocabSize.ToString(CultureInfo.InvariantCulture),
        ["hyperparameters"] = HyperparametersJson(Model.Spec),
        ["tokenizer"] = Tokenizer.ToMetadata(),
    };

    // The [model] keys the model resolved, with its name and vocabulary size: a model built from a run file read those
    // two from its section, one rebuilt from a weights file did not, and a resumed run must write the same file.
    private static string HyperparametersJson(ModelSpec spec)
    {
        var keys = new SortedDictionary<string, object>(spec.Hyperparameters.Resolved.ToDictionary(), StringComparer.Ordinal)
        {
            ["name"] = spec.Name,
            ["vocab_size"] = (long)spec.VocabSize,
        };
        return JsonSerializer.Serialize(keys);
    }

    /// <summary>Loads a weights file written by <see cref="Save"/> (or a checkpoint); anything wrong is a <see cref="WeightsFileException"/>.</summary>
    public static Cortex Load(string path) => FromFile(SafeTensors.Read(path), path);

    /// <summary>
    /// Rebuilds the model the file's metadata describes and fills its parameters, checking every tensor's name and
    /// shape. Tensors under <see cref="Checkpoint.OptimizerPrefix"/> (a checkpoint's optimizer state) are not the model's.
    /// </summary>
    internal static Cortex FromFile(SafeTensorsFile file, string path)
    {
        var metadata = file.Metadata;
        if (!metadata.TryGetValue("format", out var format) || format != FormatName)
        {
            throw new WeightsFileException($"{path}: not a NanoLlm weights file (its metadata has no format = {FormatName})");
        }
        if (metadata.GetValueOrDefault("format_version") != FormatVersion)
        {
            throw new WeightsFileException($"{path}: weights format version {metadata.GetValueOrDefault("format_version")} is not supported (this build reads {FormatVersion}): train again");
        }

        Tokenizer tokenizer;
        ILanguageModel model;
        try
        {
            tokenizer = Tokenizer.FromMetadata(Required(metadata, "tokenizer", path));
            var hyperparameters = SettingsSection.FromJson("model", $"{path} (metadata)", Required(metadata, "hyperparameters", path));
            model = ModelRegistry.Create(Required(metadata, "model", path), tokenizer.VocabSize, hyperparameters, ModelValues(file));
        }
        catch (Exception e) when (e is FormatException or ConfigException)
        {
            throw new WeightsFileException($"{path}: the metadata is not usable: {e.Message}", e);
        }

        var expected = model.Parameters.Parameters;
        var modelTensors = file.Names.Count(n => !n.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal));
        if (modelTensors != expected.Count)
        {
            throw new WeightsFileException($"{path}: has {modelTensors} tensors, the {model.Spec.Name} model it describes has {expected.Count}");
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

    // A model that cannot match the file's tensors: a little larger is built and compared tensor by tensor (naming the
    // first that differs); more than a million parameters larger is refused before it is built.
    private static long ModelValues(SafeTensorsFile file) =>
        (1 << 20) + file.Names.Where(n => !n.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal))
            .Sum(n => file.Shape(n).Aggregate(1L, (product, dimension) => product * dimension));

    private static string Required(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out var value) ? value : throw new WeightsFileException($"{path}: metadata key {key} is missing");
}
