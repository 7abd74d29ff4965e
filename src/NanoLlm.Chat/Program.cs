using NanoLlm.Chat.Tui;
using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Chat;

/// <summary>
/// <c>chat CONFIG [--prompt TEXT] [--set section.key=value …] [--verbose]</c>: opens the weights the run file names
/// in a terminal chat, or with <c>--prompt</c> prints one completion to stdout and exits (for scripts and tests).
/// </summary>
public static class Program
{
    private const string Usage = "chat CONFIG [--prompt TEXT] [--set section.key=value ...] [--verbose]";

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var commandLine = CommandLine.Parse(args, Usage, "--prompt");
            var config = RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides);
            var weightsPath = config.Weights.Path;
            if (!File.Exists(weightsPath))
            {
                Console.Error.WriteLine(
                    $"error: {weightsPath} not found: train the model first with make train CONFIG={commandLine.ConfigPath}");
                return 2;
            }
            var cortex = Cortex.Load(weightsPath);
            if (commandLine.Options.TryGetValue("--prompt", out var prompt))
            {
                foreach (var piece in cortex.Generate(prompt, config.Sampling))
                {
                    Console.Out.Write(piece);
                    Console.Out.Flush();
                }
                Console.Out.WriteLine();
                return 0;
            }
            var conversation = new ConversationChatModel(cortex.StartConversation(config.Sampling));
            ChatApp.Run($"NanoLlm chat · {commandLine.ConfigPath}", $"{cortex.Model.Spec.Name} · {weightsPath}", conversation);
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
