using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Data;
using NanoLlm.Storage;
using NanoLlm.Tensors;
using NanoLlm.Training;

namespace NanoLlm.Train;

/// <summary>
/// <c>train CONFIG [--resume | --init-only | --prepare] [--set section.key=value …] [--verbose]</c>: trains the model the run file
/// describes and writes its weights, a checkpoint, a metrics CSV and a loss plot beside them. <c>--init-only</c> writes
/// the weights file of the model before its first step (tokenizer trained, parameters initialized from the seed) and
/// stops: the starting point for training elsewhere (tools/reference/train.py --init-from). <c>--prepare</c> tokenizes
/// the <c>[prepare]</c> section's text into token shards and stops (Ctrl-C keeps the whole shards; running it again
/// continues after them). Progress goes to stderr, the
/// one-line summary to stdout. Exit codes: 0 done (or stopped by Ctrl-C with a checkpoint), 2 bad usage, config or
/// input, or a run that diverged, 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "train CONFIG [--resume | --init-only | --prepare] [--set section.key=value ...] [--verbose]";

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var resume = args.Contains("--resume");
            var initOnly = args.Contains("--init-only");
            var prepare = args.Contains("--prepare");
            var commandLine = CommandLine.Parse([.. args.Where(a => a is not ("--resume" or "--init-only" or "--prepare"))], Usage);
            if ((resume ? 1 : 0) + (initOnly ? 1 : 0) + (prepare ? 1 : 0) > 1)
            {
                throw new ConfigException($"--resume, --init-only and --prepare exclude each other: usage: {Usage}");
            }
            var config = InitFrom.Resolve(RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides));
            if (prepare)
            {
                return Prepare(config, commandLine.ConfigPath);
            }
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
        catch (Exception e) when (e is ConfigException or WeightsFileException or TrainingDivergedException or ShardFileException)
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

    private static int Prepare(RunConfig config, string configPath)
    {
        using var interrupt = new Interrupt("stopping: the shard being written is dropped, whole shards are kept");
        try
        {
            var summary = PrepareReporter.Run(config, progress => CorpusPreparation.Prepare(config, KernelSettings.MaxThreads, progress, interrupt.Token));
            var parts = new List<string> { "prepared" };
            foreach (var split in summary.Splits)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{split.Prefix}_shards={split.Shards} {split.Prefix}_kept={split.ShardsKept} {split.Prefix}_tokens={split.Tokens} {split.Prefix}_text_bytes={split.TextBytes}"));
            }
            var seconds = summary.Elapsed.TotalSeconds;
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"mb_per_s={(seconds > 0 ? summary.BytesRead / 1e6 / seconds : 0):F1} seconds={seconds:F1} output={config.Prepare!.Output}"));
            Console.Out.WriteLine(string.Join(' ', parts));
            return 0;
        }
        catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
        {
            Console.Error.WriteLine($"interrupted: the whole shards in {config.Prepare!.Output} are kept; continue with make prepare CONFIG={configPath}");
            return 0;
        }
    }
}
