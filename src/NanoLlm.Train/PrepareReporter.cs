using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Data;
using Spectre.Console;

namespace NanoLlm.Train;

/// <summary>
/// Shows a preparation's progress on stderr: a live Spectre.Console bar (MB read, MB/s, tokens, shards, ETA) when
/// stderr is a terminal, a plain line every few seconds when it is not.
/// </summary>
internal static class PrepareReporter
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    public static T Run<T>(RunConfig config, Func<Action<PrepareProgress>, T> prepare)
    {
        var output = config.Prepare?.Output ?? "";
        if (Console.IsErrorRedirected)
        {
            Console.Error.WriteLine($"preparing {config.Prepare?.Input} into {output}");
            var sinceLastLine = Stopwatch.StartNew();
            return prepare(progress =>
            {
                if (sinceLastLine.Elapsed >= Interval || progress.Bytes == progress.TotalBytes)
                {
                    Console.Error.WriteLine(Describe(progress));
                    sinceLastLine.Restart();
                }
            });
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask($"preparing {Markup.Escape(output)}", maxValue: 1);
                return prepare(progress =>
                {
                    task.MaxValue = Math.Max(1, progress.TotalBytes);
                    task.Value = progress.Bytes;
                    task.Description = Markup.Escape(Describe(progress));
                });
            });
    }

    public static string Describe(PrepareProgress progress)
    {
        var seconds = progress.Elapsed.TotalSeconds;
        var megabytesPerSecond = seconds > 0 ? progress.Bytes / 1e6 / seconds : 0;
        var left = megabytesPerSecond > 0 ? (progress.TotalBytes - progress.Bytes) / 1e6 / megabytesPerSecond : 0;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{progress.Bytes / 1e6:F0}/{progress.TotalBytes / 1e6:F0} MB {megabytesPerSecond:F1} MB/s {progress.TokensWritten} tokens {progress.ShardsWritten} shards written ETA {TimeSpan.FromSeconds(Math.Round(left)):c}");
    }
}
