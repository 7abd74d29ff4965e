using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Training;
using Spectre.Console;

namespace NanoLlm.Train;

/// <summary>
/// Shows training progress on stderr: a live Spectre.Console bar (step, loss, validation, tokens/s, ETA) when stderr
/// is a terminal, plain periodic lines when it is not (logs, CI, tests).
/// </summary>
internal abstract class ProgressReporter
{
    public static ProgressReporter Create(RunConfig config) =>
        Console.IsErrorRedirected ? new PlainLines(config) : new LiveBar(config);

    public abstract T Run<T>(Func<Action<TrainingProgress>, T> train);

    protected static string Describe(TrainingProgress progress, Evaluation? training, Evaluation? validation)
    {
        // A run sized by its time budget counts minutes; its step count is only a cap, or none.
        var position = progress.Budget is { } budget
            ? string.Create(CultureInfo.InvariantCulture, $"step {progress.Step} min {progress.Elapsed.TotalMinutes:F1}/{budget.TotalMinutes:0.##}")
            : string.Create(CultureInfo.InvariantCulture, $"step {progress.Step}/{progress.TotalSteps}");
        var text = position + string.Create(
            CultureInfo.InvariantCulture,
            $" loss {progress.Loss:F4} lr {progress.LearningRate:0.###e+0} norm {progress.GradientNorm:F3}");
        if (training is { } t)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" train_loss {t.Loss:F4} train_bpb {t.BitsPerByte:F4}");
        }
        if (validation is { } v)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" val_loss {v.Loss:F4} val_bpb {v.BitsPerByte:F4}");
        }
        return text + string.Create(CultureInfo.InvariantCulture, $" {progress.TokensPerSecond:F0} tok/s");
    }

    // A sample's newlines would break the progress layout; ⏎ keeps its line structure visible.
    protected static string OneLine(string sample) => sample.ReplaceLineEndings(" ⏎ ").Trim();

    private sealed class PlainLines(RunConfig config) : ProgressReporter
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

        public override T Run<T>(Func<Action<TrainingProgress>, T> train)
        {
            Console.Error.WriteLine($"training {config.Model.Name} on {config.Training.Corpus}");
            var sinceLastLine = Stopwatch.StartNew();
            return train(progress =>
            {
                var last = progress.Step == progress.TotalSteps;
                if (last || progress.Validation is not null || progress.Step == 1 || sinceLastLine.Elapsed >= Interval)
                {
                    Console.Error.WriteLine(Describe(progress, progress.Training, progress.Validation));
                    if (progress.Sample is { } sample)
                    {
                        Console.Error.WriteLine($"sample: {OneLine(sample)}");
                    }
                    sinceLastLine.Restart();
                }
            });
        }
    }

    private sealed class LiveBar(RunConfig config) : ProgressReporter
    {
        public override T Run<T>(Func<Action<TrainingProgress>, T> train)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            return console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask($"training {config.Model.Name}", maxValue: 1);
                    Evaluation? lastTraining = null;
                    Evaluation? lastValidation = null;
                    return train(progress =>
                    {
                        lastTraining = progress.Training ?? lastTraining;
                        lastValidation = progress.Validation ?? lastValidation;
                        (task.MaxValue, task.Value) = progress.Budget is { } budget
                            ? (budget.TotalSeconds, Math.Min(progress.Elapsed.TotalSeconds, budget.TotalSeconds))
                            : (progress.TotalSteps, progress.Step);
                        task.Description = Markup.Escape(Describe(progress, lastTraining, lastValidation));
                        if (progress.Sample is { } sample)
                        {
                            console.MarkupLine($"[grey]step {progress.Step} sample:[/] {Markup.Escape(OneLine(sample))}");
                        }
                    });
                });
        }
    }
}
