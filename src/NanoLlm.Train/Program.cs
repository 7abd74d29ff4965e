using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Train;

/// <summary>
/// <c>train CONFIG [--set section.key=value …] [--verbose]</c>: trains the model the run file describes and writes
/// its weights. Progress goes to stderr, the one-line summary to stdout. Exit codes: 0 done, 2 bad usage, config or
/// input, 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "train CONFIG [--set section.key=value ...] [--verbose]";

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var commandLine = CommandLine.Parse(args, Usage);
            var config = RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides);
            using var interrupt = new Interrupt();
            var reporter = ProgressReporter.Create(config);
            var (_, summary) = reporter.Run(progress => Cortex.Train(config, progress, interrupt.Token));
            if (summary.Interrupted)
            {
                Console.Error.WriteLine($"interrupted at step {summary.Steps}: the weights trained so far are in {config.Weights.Path}");
            }
            Console.Out.WriteLine(SummaryLine.Format(config, summary));
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
