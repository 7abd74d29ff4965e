using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Training;

namespace NanoLlm.Train;

/// <summary>
/// The last line on stdout: <c>key=value</c> pairs that scripts parse. <c>best_val_*</c> say which evaluation scored
/// best (the weights file holds that one), at which step and after how many minutes of training.
/// </summary>
internal static class SummaryLine
{
    public static string Format(RunConfig config, TrainingSummary summary, string metricsPath, string plotPath)
    {
        var parts = new List<string>
        {
            "trained",
            $"model={config.Model.Name}",
            $"steps={summary.Steps}",
            Invariant($"loss={summary.Loss:F4}"),
        };
        if (summary.Validation is { } validation)
        {
            parts.Add(Invariant($"val_loss={validation.Loss:F4}"));
            parts.Add(Invariant($"val_bpb={validation.BitsPerByte:F4}"));
        }
        if (summary.Best is { } best)
        {
            parts.Add(Invariant($"best_val_loss={best.Loss:F4}"));
            parts.Add(Invariant($"best_val_step={best.Step}"));
            parts.Add(Invariant($"best_val_minutes={best.Elapsed.TotalMinutes:F2}"));
        }
        parts.Add(Invariant($"tokens_per_s={summary.TokensPerSecond:F0}"));
        parts.Add(Invariant($"seconds={summary.Elapsed.TotalSeconds:F1}"));
        parts.Add(Invariant($"minutes={summary.Elapsed.TotalMinutes:F2}"));
        parts.Add($"weights={config.Weights.Path}");
        parts.Add($"metrics={metricsPath}");
        parts.Add($"plot={plotPath}");
        return string.Join(' ', parts);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
