using System.Globalization;
using System.Text.RegularExpressions;
using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace NanoLlm.Config;

/// <summary>
/// Turns a TOML run file (plus <c>--set section.key=value</c> overrides) into a validated <see cref="RunConfig"/>.
/// The only type that knows TOML. Defaults live here, next to the keys they belong to.
/// </summary>
public static partial class RunConfigLoader
{
    private static readonly string[] Sections = ["model", "training", "weights", "sampling", "tokenizer", "server", "prepare"];

    public static RunConfig Load(string path, IReadOnlyList<string>? overrides = null) => Parse(ReadText(path), path, overrides);

    /// <summary>Reads a run file's <paramref name="text"/>; <paramref name="path"/> names it in errors.</summary>
    internal static RunConfig Parse(string text, string path, IReadOnlyList<string>? overrides = null)
    {
        var sections = ReadSections(text, path);
        foreach (var assignment in overrides ?? [])
        {
            ApplyOverride(sections, path, assignment);
        }

        var training = Section(sections, path, "training");
        var trainingSettings = ReadTraining(training);
        training.RejectUnknownKeys();

        // With init_from the weights file gives the model and its tokenizer: [model] may leave out what the file says.
        var model = Section(sections, path, "model");
        var initFrom = trainingSettings.InitFrom is not null;
        var modelName = initFrom && !model.Contains("name") ? "" : model.GetString("name");
        var vocabSizeGiven = model.Contains("vocab_size");
        var vocabSize = initFrom && !vocabSizeGiven
            ? 0
            : model.GetInt("vocab_size", ModelSettings.MinVocabSize, ModelSettings.MinVocabSize, ModelSettings.MaxVocabSize);
        var tokenizer = Section(sections, path, "tokenizer");
        if (initFrom && tokenizer.Written.Count > 0)
        {
            throw new ConfigException(
                $"{tokenizer.OriginOf(tokenizer.Written.Keys.First())}: [tokenizer] with [training] init_from: the tokenizer is the one in {trainingSettings.InitFrom}; remove [tokenizer]");
        }
        var tokenizerSettings = initFrom ? TokenizerSettings.Bytes : ReadTokenizer(tokenizer, model, vocabSize);
        tokenizer.RejectUnknownKeys();

        var weights = Section(sections, path, "weights");
        var weightsSettings = new WeightsSettings(weights.GetString("path"));
        weights.RejectUnknownKeys();

        var sampling = Section(sections, path, "sampling");
        var samplingSettings = ReadSampling(sampling);
        sampling.RejectUnknownKeys();

        var server = Section(sections, path, "server");
        var serverSettings = ReadServer(server);
        server.RejectUnknownKeys();

        var prepare = sections.ContainsKey("prepare") ? ReadPrepare(Section(sections, path, "prepare")) : null;

        return new RunConfig(path, new ModelSettings(modelName, vocabSize, model) { VocabSizeGiven = vocabSizeGiven }, trainingSettings, weightsSettings, samplingSettings)
        {
            Tokenizer = tokenizerSettings,
            Server = serverSettings,
            Prepare = prepare,
        };
    }

    /// <summary>
    /// <c>[tokenizer]</c>; without it, <c>vocab_size</c> alone decides as it always did: 256 is bytes, more trains
    /// merges on the whole text. A pretrained vocabulary brings its split and special tokens and sets the vocabulary size.
    /// </summary>
    private static TokenizerSettings ReadTokenizer(SettingsSection tokenizer, SettingsSection model, int vocabSize)
    {
        var pretrained = tokenizer.Contains("pretrained") ? tokenizer.GetString("pretrained") : null;
        var defaultKind = pretrained is not null || vocabSize > ModelSettings.MinVocabSize ? TokenizerSettings.BpeKind : TokenizerSettings.BytesKind;
        var kind = tokenizer.GetChoice("kind", defaultKind, TokenizerSettings.BytesKind, TokenizerSettings.BpeKind);
        var split = tokenizer.Contains("split") ? tokenizer.GetChoice("split", "none", TokenizerSettings.SplitNames) : null;
        var specials = tokenizer.GetStringList("special_tokens");
        if (pretrained is { Length: 0 })
        {
            throw new ConfigException($"{tokenizer.OriginOf("pretrained")}: [tokenizer] pretrained is empty: name gpt2, cl100k_base or o200k_base, or give a path");
        }
        for (var i = 0; i < specials.Count; i++)
        {
            if (specials[i].Length == 0 || specials.Take(i).Contains(specials[i]))
            {
                var problem = specials[i].Length == 0 ? "an empty string is no token" : $"\"{specials[i]}\" is listed twice";
                throw new ConfigException($"{tokenizer.OriginOf("special_tokens")}: [tokenizer] special_tokens: {problem}");
            }
        }
        if (kind == TokenizerSettings.BytesKind)
        {
            var extra = pretrained is not null ? "pretrained" : split is not null && split != "none" ? "split" : specials.Count > 0 ? "special_tokens" : null;
            if (extra is not null)
            {
                throw new ConfigException($"{tokenizer.OriginOf(extra)}: [tokenizer] {extra} needs kind = \"bpe\": the byte tokenizer has 256 tokens and nothing else");
            }
            if (vocabSize != ModelSettings.MinVocabSize)
            {
                throw new ConfigException($"{model.OriginOf("vocab_size")}: [model] vocab_size = {vocabSize} with [tokenizer] kind = \"bytes\": bytes are 256 tokens; set vocab_size = 256 or kind = \"bpe\"");
            }
        }
        else if (pretrained is null && vocabSize < ModelSettings.MinVocabSize + specials.Count + 1)
        {
            throw new ConfigException(
                $"{model.OriginOf("vocab_size")}: [model] vocab_size = {vocabSize} leaves no merge to learn besides 256 bytes and {specials.Count} special tokens: raise it");
        }
        return new TokenizerSettings(kind, split, pretrained, specials) { Origin = tokenizer.Origin };
    }

    private static TrainingSettings ReadTraining(SettingsSection training)
    {
        var corpus = training.GetString("corpus");
        var hasSteps = training.Contains("steps");
        var hasEpochs = training.Contains("epochs");
        var timeBudget = training.GetDouble("time_budget_minutes", 0, 0, 1_000_000);
        if ((hasSteps && hasEpochs) || (!hasSteps && !hasEpochs && timeBudget == 0))
        {
            throw new ConfigException(
                $"{training.Origin}: [training] needs exactly one of steps or epochs, or time_budget_minutes: add steps = 1000, epochs = 10 or time_budget_minutes = 10");
        }
        var steps = hasSteps ? training.GetInt("steps", null, 1, int.MaxValue) : 0;
        var epochs = hasEpochs ? training.GetInt("epochs", null, 1, 1_000_000) : 0;
        var learningRate = training.GetDouble("learning_rate", null, 0, 1_000, minExclusive: true);
        var optimizer = training.GetChoice("optimizer", TrainingSettings.SgdName, TrainingSettings.SgdName, TrainingSettings.AdamWName, TrainingSettings.MuonName);
        var schedule = training.GetChoice("lr_schedule", TrainingSettings.ConstantSchedule, TrainingSettings.ConstantSchedule, TrainingSettings.CosineSchedule, TrainingSettings.WsdSchedule);
        // Muon's keys and decay_fraction are read whatever the optimizer and schedule, so one run file serves an
        // ablation (--set training.optimizer=adamw); decay_steps contradicts a time budget, which ends the schedule.
        if (timeBudget > 0 && training.Contains("decay_steps"))
        {
            throw new ConfigException(
                $"{training.OriginOf("decay_steps")}: [training] decay_steps with time_budget_minutes: the schedule ends when the budget does; remove decay_steps");
        }
        return new TrainingSettings(
            Corpus: corpus,
            Steps: steps,
            Epochs: epochs,
            LearningRate: learningRate,
            BatchSize: training.GetInt("batch_size", 32, 1, 1 << 20),
            Seed: training.GetInt("seed", 1337, 0, int.MaxValue),
            ValFraction: training.GetDouble("val_fraction", 0.1, 0, 0.5),
            EvalInterval: training.GetInt("eval_interval", 0, 0, int.MaxValue),
            EvalBatches: training.GetInt("eval_batches", 0, 0, 1_000_000))
        {
            Optimizer = optimizer,
            AdamW = new OptimizerSettings(
                Beta1: training.GetDouble("beta1", 0.9, 0, 0.99999),
                Beta2: training.GetDouble("beta2", 0.95, 0, 0.99999),
                Epsilon: training.GetDouble("eps", 1e-8, 0, 1, minExclusive: true),
                WeightDecay: training.GetDouble("weight_decay", 0.1, 0, 10),
                DecayEmbeddings: training.GetBool("weight_decay_embeddings", false)),
            Muon = new MuonSettings(
                LearningRate: training.GetDouble("muon_learning_rate", 0.02, 0, 1_000, minExclusive: true),
                Momentum: training.GetDouble("muon_momentum", 0.95, 0, 0.99999),
                WeightDecay: training.GetDouble("muon_weight_decay", 0, 0, 10)),
            WarmupSteps = training.GetInt("warmup_steps", 0, 0, int.MaxValue),
            Schedule = schedule,
            DecayFraction = training.GetDouble("decay_fraction", 0.2, 0, 1, minExclusive: true),
            TimeBudgetMinutes = timeBudget,
            MinLearningRate = training.GetDouble("min_learning_rate", learningRate / 10, 0, learningRate),
            DecaySteps = training.GetInt("decay_steps", 0, 0, int.MaxValue),
            GradClip = training.GetDouble("grad_clip", 0, 0, 1e6),
            CheckpointInterval = training.GetInt("checkpoint_interval", 0, 0, int.MaxValue),
            GradAccumulationSteps = training.GetInt("grad_accumulation_steps", 1, 1, 1_000_000),
            InitFrom = training.Contains("init_from") ? training.GetString("init_from") : null,
            DiagnosticsInterval = training.GetInt("diagnostics_interval", 0, 0, int.MaxValue),
            ValCorpus = training.GetString("val_corpus", ""),
        };
    }

    private static PrepareSettings ReadPrepare(SettingsSection prepare)
    {
        var settings = new PrepareSettings(
            Input: prepare.GetString("input"),
            Output: prepare.GetString("output"),
            ValInput: prepare.GetString("val_input", ""),
            ValFraction: prepare.GetDouble("val_fraction", 0.1, 0, 0.5),
            ShardTokens: prepare.GetInt("shard_tokens", 100_000_000, 1, int.MaxValue),
            DocumentSeparator: prepare.GetString("document_separator", ""),
            TokenizerSampleBytes: prepare.GetInt("tokenizer_sample_bytes", 4 << 20, 1, 1 << 30));
        prepare.RejectUnknownKeys();
        if (settings.ValInput.Length > 0 && prepare.Contains("val_fraction"))
        {
            throw new ConfigException($"{prepare.OriginOf("val_fraction")}: [prepare] val_fraction and val_input exclude each other: keep one");
        }
        return settings;
    }

    private static SamplingSettings ReadSampling(SettingsSection sampling)
    {
        var defaults = new SamplingSettings();
        return new SamplingSettings(
            MaxNewTokens: sampling.GetInt("max_new_tokens", defaults.MaxNewTokens, 1, SamplingSettings.MaxNewTokensLimit),
            Temperature: sampling.GetDouble("temperature", defaults.Temperature, 0, SamplingSettings.TemperatureLimit),
            TopK: sampling.GetInt("top_k", defaults.TopK, 0, SamplingSettings.TopKLimit),
            TopP: sampling.GetDouble("top_p", defaults.TopP, 0, 1, minExclusive: true),
            RepetitionPenalty: sampling.GetDouble("repetition_penalty", defaults.RepetitionPenalty, 1, SamplingSettings.RepetitionPenaltyLimit),
            Seed: sampling.GetInt("seed", defaults.Seed, 0, int.MaxValue));
    }

    private static ServerSettings ReadServer(SettingsSection server)
    {
        var defaults = new ServerSettings();
        return new ServerSettings(
            Host: server.GetString("host", defaults.Host),
            Port: server.GetInt("port", defaults.Port, 0, 65_535),
            MaxTokens: server.GetInt("max_tokens", defaults.MaxTokens, 1, SamplingSettings.MaxNewTokensLimit),
            MaxBatch: server.GetInt("max_batch", defaults.MaxBatch, 1, 1024),
            TimeoutSeconds: server.GetDouble("timeout_seconds", defaults.TimeoutSeconds, 0, 86_400, minExclusive: true),
            MaxBodyBytes: server.GetInt("max_body_bytes", defaults.MaxBodyBytes, 1024, 1 << 30));
    }

    private static SettingsSection Section(Dictionary<string, (string Origin, Dictionary<string, SettingValue> Values)> sections, string path, string name)
    {
        var (origin, values) = sections.TryGetValue(name, out var found) ? found : ($"{path}", new Dictionary<string, SettingValue>());
        return new SettingsSection(name, origin, values);
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            throw new ConfigException($"{path}: cannot read the run file ({reason}): check the CONFIG path", e);
        }
    }

    private static Dictionary<string, (string Origin, Dictionary<string, SettingValue> Values)> ReadSections(string text, string path)
    {
        var (document, problem) = ParseToml(text, path);
        if (document is null)
        {
            throw new ConfigException($"{path}{(problem is null ? LineOfBrokenEscape(text) : "")}: invalid TOML: {problem ?? BrokenEscape}");
        }
        if (document.HasErrors)
        {
            var first = document.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
            throw new ConfigException($"{path}:{first.Span.Start.Line + 1}: invalid TOML: {first.Message}");
        }
        if (document.KeyValues.ChildrenCount > 0)
        {
            var stray = document.KeyValues.GetChild(0)!;
            throw new ConfigException(
                $"{path}:{stray.Span.Start.Line + 1}: key {KeyName(stray.Key!)} is outside any section: put it under [model], [training], [weights], [sampling], [tokenizer], [server] or [prepare]");
        }

        var sections = new Dictionary<string, (string, Dictionary<string, SettingValue>)>(StringComparer.Ordinal);
        foreach (var table in document.Tables)
        {
            var line = table.Span.Start.Line + 1;
            var name = KeyName(table.Name!);
            if (table is not TableSyntax || Array.IndexOf(Sections, name) < 0)
            {
                throw new ConfigException(
                    $"{path}:{line}: unknown section [{name}]: the sections are {string.Join(", ", Sections.Select(s => $"[{s}]"))}");
            }
            var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);
            foreach (var item in table.Items)
            {
                var key = KeyName(item.Key!);
                var origin = $"{path}:{item.Span.Start.Line + 1}";
                values[key] = new SettingValue(ScalarValue(item.Value!, origin, name, key), origin);
            }
            sections[name] = ($"{path}:{line}", values);
        }
        return sections;
    }

    private static void ApplyOverride(
        Dictionary<string, (string Origin, Dictionary<string, SettingValue> Values)> sections, string path, string assignment)
    {
        var origin = $"--set {assignment}";
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        var dot = assignment.IndexOf('.', StringComparison.Ordinal);
        if (equals < 0 || dot < 0 || dot > equals)
        {
            throw new ConfigException($"{origin}: write it as --set section.key=value, e.g. --set training.steps=100");
        }
        var section = assignment[..dot].Trim();
        var key = assignment[(dot + 1)..equals].Trim();
        var rawValue = assignment[(equals + 1)..].Trim();
        if (Array.IndexOf(Sections, section) < 0)
        {
            throw new ConfigException($"{origin}: unknown section [{section}]: the sections are {string.Join(", ", Sections.Select(s => $"[{s}]"))}");
        }

        // The value is read as TOML (numbers, true/false, "quoted"); anything TOML does not read is taken as a plain string.
        var (parsed, _) = ParseToml($"v = {rawValue}\n", origin);
        object value = parsed is null || parsed.HasErrors || parsed.KeyValues.ChildrenCount != 1
            ? rawValue
            : ScalarValue(parsed.KeyValues.GetChild(0)!.Value!, origin, section, key);

        if (!sections.TryGetValue(section, out var existing))
        {
            existing = (path, new Dictionary<string, SettingValue>(StringComparer.Ordinal));
            sections[section] = existing;
        }
        existing.Values[key] = new SettingValue(value, origin);
        // steps and epochs are two ways to say how long to train: overriding one replaces the other.
        if (section == "training" && key is "steps" or "epochs")
        {
            existing.Values.Remove(key == "steps" ? "epochs" : "steps");
        }
    }

    private const string BrokenEscape = "a \\u or \\U escape is cut short by the end of the file or names no Unicode character";

    // Tomlyn throws instead of reporting two kinds of bad input: a \u or \U escape cut short by the end of the text
    // (ArgumentOutOfRangeException, while describing it: no problem text), and arrays or inline tables nested deeper
    // than it reads (TomlException, with its message). Either way there is no document.
    private static (DocumentSyntax? Document, string? Problem) ParseToml(string text, string origin)
    {
        try
        {
            return (SyntaxParser.Parse(text, origin, true), null);
        }
        catch (ArgumentOutOfRangeException)
        {
            return (null, null);
        }
        catch (TomlException e)
        {
            return (null, e.Message);
        }
    }

    private static string LineOfBrokenEscape(string text)
    {
        foreach (Match escape in UnicodeEscape().Matches(text))
        {
            var digits = escape.Groups[2].Value;
            var broken = digits.Length < (escape.Groups[1].Value == "u" ? 4 : 8)
                || long.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture) is > 0x10FFFF or (>= 0xD800 and <= 0xDFFF);
            if (broken)
            {
                return $":{text.AsSpan(0, escape.Index).Count('\n') + 1}";
            }
        }
        return "";
    }

    [GeneratedRegex(@"\\([uU])((?<=u)[0-9A-Fa-f]{0,4}|(?<=U)[0-9A-Fa-f]{0,8})")]
    private static partial Regex UnicodeEscape();

    private static object ScalarValue(ValueSyntax value, string origin, string section, string key) => value switch
    {
        StringValueSyntax s => s.Value!,
        ArraySyntax array => StringArray(array, origin, section, key),
        IntegerValueSyntax i => i.Value,
        FloatValueSyntax f => f.Value,
        BooleanValueSyntax b => b.Value,
        _ => throw new ConfigException(
            $"{origin}: [{section}] {key}: only strings, numbers and true/false are accepted here"),
    };

    private static string[] StringArray(ArraySyntax array, string origin, string section, string key)
    {
        var items = new string[array.Items.ChildrenCount];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = array.Items.GetChild(i)!.Value is StringValueSyntax { Value: { } text }
                ? text
                : throw new ConfigException($"{origin}: [{section}] {key}: a list here holds strings only, e.g. [\"<|endoftext|>\"]");
        }
        return items;
    }

    private static string KeyName(KeySyntax key) => key.ToString()!.Trim().Trim('"');
}
