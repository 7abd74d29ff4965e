using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Inspection;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Explain;

/// <summary>
/// <c>explain CONFIG --prompt TEXT [--top K] [--positions N] [--set section.key=value …] [--verbose]</c>: runs the
/// trained model the run file names on the prompt and writes beside its weights one PNG per layer of attention maps
/// (a heatmap per head; models with attention only) and a PNG of the top next-token probabilities at the last N
/// positions; prints the same table as text, then one summary line. Exit codes: 0 done, 2 bad usage, config or
/// weights file, 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "explain CONFIG --prompt TEXT [--top K] [--positions N] [--set section.key=value ...] [--verbose]";
    private const int DefaultTop = 10;
    private const int DefaultPositions = 16;

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var commandLine = CommandLine.Parse(args, Usage, "--prompt", "--top", "--positions");
            var prompt = commandLine.Options.GetValueOrDefault("--prompt");
            if (string.IsNullOrEmpty(prompt))
            {
                throw new ConfigException($"--prompt needs the text to explain, e.g. --prompt \"ROMEO:\". Usage: {Usage}");
            }
            var top = Count(commandLine, "--top", DefaultTop, 100);
            var positions = Count(commandLine, "--positions", DefaultPositions, 256);
            var config = RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides);
            var weightsPath = config.Weights.Path;
            if (!File.Exists(weightsPath))
            {
                throw new ConfigException($"{weightsPath} not found: train the model first with make train CONFIG={commandLine.ConfigPath}");
            }
            var cortex = Cortex.Load(weightsPath);
            var explanation = Explanation.Of(cortex.Model, cortex.Tokenizer, prompt, top);

            var attentionPaths = new List<string>();
            for (var layer = 0; layer < (explanation.Attention?.Layers ?? 0); layer++)
            {
                var path = $"{weightsPath}.attention.{layer}.png";
                ExplainCharts.SaveAttention(explanation, layer, path);
                attentionPaths.Add(path);
            }
            var probabilitiesPath = weightsPath + ".probabilities.png";
            ExplainCharts.SaveProbabilities(explanation, positions, probabilitiesPath);

            Console.Out.Write(ExplainCharts.Table(explanation, positions));
            if (explanation.Attention is null)
            {
                Console.Error.WriteLine($"the {cortex.Model.Spec.Name} model has no attention: probabilities only");
            }
            Console.Out.WriteLine(
                $"explained model={cortex.Model.Spec.Name} tokens={explanation.Tokens.Count} probabilities={probabilitiesPath}"
                + (attentionPaths.Count > 0 ? $" attention={string.Join(',', attentionPaths)}" : ""));
            return 0;
        }
        catch (Exception e) when (e is ConfigException or WeightsFileException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected failure: {e.Message}{(verbose ? Environment.NewLine + e : " (run with --verbose for details)")}");
            return 1;
        }
    }

    private static int Count(CommandLine commandLine, string option, int defaultValue, int max)
    {
        if (!commandLine.Options.TryGetValue(option, out var text))
        {
            return defaultValue;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max
            ? value
            : throw new ConfigException($"{option} {text}: use a whole number from 1 to {max}. Usage: {Usage}");
    }
}
