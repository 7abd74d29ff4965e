using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Tool;

/// <summary>
/// <c>tokenize CONFIG [--text TEXT] [--set section.key=value …] [--verbose]</c>: the token ids the tokenizer of the run
/// file's weights gives <c>--text</c> (or standard input), space-separated on one line. Exit codes as the programs'.
/// </summary>
public static class TokenizeCommand
{
    private const string Usage = "tokenize CONFIG [--text TEXT] [--set section.key=value ...] [--verbose]";

    public static int Run(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var commandLine = CommandLine.Parse(args, Usage, "--text");
            var config = RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides);
            if (!File.Exists(config.Weights.Path))
            {
                Console.Error.WriteLine($"error: {config.Weights.Path} not found: train the model first with nanollm train {commandLine.ConfigPath}");
                return 2;
            }
            var text = commandLine.Options.TryGetValue("--text", out var given) ? given : Console.In.ReadToEnd();
            var tokens = Cortex.Load(config.Weights.Path).Tokenizer.Encode(text);
            Console.Out.WriteLine(string.Join(' ', tokens));
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
}
