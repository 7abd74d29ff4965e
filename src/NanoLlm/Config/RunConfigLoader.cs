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
    private static readonly string[] Sections = ["model", "training", "weights", "sampling"];

    public static RunConfig Load(string path, IReadOnlyList<string>? overrides = null) => Parse(ReadText(path), path, overrides);

    /// <summary>Reads a run file's <paramref name="text"/>; <paramref name="path"/> names it in errors.</summary>
    internal static RunConfig Parse(string text, string path, IReadOnlyList<string>? overrides = null)
    {
        var sections = ReadSections(text, path);
        foreach (var assignment in overrides ?? [])
        {
            ApplyOverride(sections, path, assignment);
        }

        var model = Section(sections, path, "model");
        var modelName = model.GetString("name");
        var vocabSize = model.GetInt("vocab_size", ModelSettings.MinVocabSize, ModelSettings.MinVocabSize, ModelSettings.MaxVocabSize);

        var training = Section(sections, path, "training");
        var trainingSettings = ReadTraining(training);
        training.RejectUnknownKeys();

        var weights = Section(sections, path, "weights");
        var weightsSettings = new WeightsSettings(weights.GetString("path"));
        weights.RejectUnknownKeys();

        var sampling = Section(sections, path, "sampling");
        var samplingSettings = ReadSampling(sampling);
        sampling.RejectUnknownKeys();

        return new RunConfig(path, new ModelSettings(modelName, vocabSize, model), trainingSettings, weightsSettings, samplingSettings);
    }

    private static TrainingSettings ReadTraining(SettingsSection training)
    {
        var corpus = training.GetString("corpus");
        var hasSteps = training.Contains("steps");
        var hasEpochs = training.Contains("epochs");
        if (hasSteps == hasEpochs)
        {
            throw new ConfigException(
                $"{training.Origin}: [training] needs exactly one of steps or epochs: add steps = 1000 or epochs = 10");
        }
        var steps = hasSteps ? training.GetInt("steps", null, 1, int.MaxValue) : 0;
        var epochs = hasEpochs ? training.GetInt("epochs", null, 1, 1_000_000) : 0;
        var learningRate = training.GetDouble("learning_rate", null, 0, 1_000, minExclusive: true);
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
            Optimizer = training.GetChoice("optimizer", TrainingSettings.SgdName, TrainingSettings.SgdName, TrainingSettings.AdamWName),
            AdamW = new OptimizerSettings(
                Beta1: training.GetDouble("beta1", 0.9, 0, 0.99999),
                Beta2: training.GetDouble("beta2", 0.95, 0, 0.99999),
                Epsilon: training.GetDouble("eps", 1e-8, 0, 1, minExclusive: true),
                WeightDecay: training.GetDouble("weight_decay", 0.1, 0, 10)),
            WarmupSteps = training.GetInt("warmup_steps", 0, 0, int.MaxValue),
            Schedule = training.GetChoice("lr_schedule", TrainingSettings.ConstantSchedule, TrainingSettings.ConstantSchedule, TrainingSettings.CosineSchedule),
            MinLearningRate = training.GetDouble("min_learning_rate", learningRate / 10, 0, learningRate),
            DecaySteps = training.GetInt("decay_steps", 0, 0, int.MaxValue),
            GradClip = training.GetDouble("grad_clip", 0, 0, 1e6),
            CheckpointInterval = training.GetInt("checkpoint_interval", 0, 0, int.MaxValue),
            GradAccumulationSteps = training.GetInt("grad_accumulation_steps", 1, 1, 1_000_000),
        };
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
                $"{path}:{stray.Span.Start.Line + 1}: key {KeyName(stray.Key!)} is outside any section: put it under [model], [training], [weights] or [sampling]");
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
        IntegerValueSyntax i => i.Value,
        FloatValueSyntax f => f.Value,
        BooleanValueSyntax b => b.Value,
        _ => throw new ConfigException(
            $"{origin}: [{section}] {key}: only strings, numbers and true/false are accepted here"),
    };

    private static string KeyName(KeySyntax key) => key.ToString()!.Trim().Trim('"');
}
