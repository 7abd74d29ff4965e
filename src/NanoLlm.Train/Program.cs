using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Train;

/// <summary>
/// <c>train CONFIG [--resume | --init-only] [--set section.key=value …] [--verbose]</c>: trains the model the run file
/// describes and writes its weights, a checkpoint, a metrics CSV and a loss plot beside them. <c>--init-only</c> writes
/// the weights file of the model before its first step (tokenizer trained, parameters initialized from the seed) and
/// stops: the starting point for training elsewhere (tools/reference/train.py --init-from). Progress goes to stderr, the
/// one-line summary to stdout. Exit codes: 0 done (or stopped by Ctrl-C with a checkpoint), 2 bad usage, config or
/// input, or a run that diverged, 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "train CONFIG [--resume | --init-only] [--set section.key=value ...] [--verbose]";

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var resume = args.Contains("--resume");
            var initOnly = args.Contains("--init-only");
            var commandLine = CommandLine.Parse([.. args.Where(a => a is not ("--resume" or "--init-only"))], Usage);
            if (resume && initOnly)
            {
                throw new ConfigException($"--resume and --init-only exclude each other: usage: {Usage}");
            }
            var config = InitFrom.Resolve(RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides));
            if (initOnly)
            {
                Cortex.Initialize(config).Save(config.Weights.Path);
                Console.Out.WriteLine($"initialized model={config.Model.Name} vocab_size={config.Model.VocabSize} weights={config.Weights.Path}");
                return 0;
            }
            using var interrupt = new Interrupt();
            var reporter = ProgressReporter.Create(config);
            TrainingSummary summary;
            string csvPath, plotPath;
            using (var metrics = new MetricsLog(config.Weights.Path, resume))
            {
                (_, summary) = reporter.Run(progress => Cortex.Train(
                    config,
                    p =>
                    {
                        metrics.Record(p);
                        progress(p);
                    },
                    interrupt.Token,
                    resume));
                metrics.Close();
                (csvPath, plotPath) = (metrics.CsvPath, metrics.PlotPath);
            }
            if (summary.Interrupted)
            {
                Console.Error.WriteLine(
                    $"interrupted at step {summary.Steps}: checkpoint {Checkpoint.PathFor(config.Weights.Path)} written; resume with make train CONFIG={commandLine.ConfigPath} RESUME=1");
            }
            Console.Out.WriteLine(SummaryLine.Format(config, summary, csvPath, plotPath));
            return 0;
        }
        catch (Exception e) when (e is ConfigException or WeightsFileException or TrainingDivergedException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The disk refused the metrics CSV or the plot (full, read-only): the message names the file.
            Console.Error.WriteLine($"error: cannot write the run's metrics: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected failure: {e.Message}{(verbose ? Environment.NewLine + e : " (run with --verbose for details)")}");
            return 1;
        }
    }
}
