using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Training;

namespace NanoLlm.Train;

/// <summary>The last line on stdout: <c>key=value</c> pairs that scripts parse.</summary>
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
        parts.Add(Invariant($"tokens_per_s={summary.TokensPerSecond:F0}"));
        parts.Add(Invariant($"seconds={summary.Elapsed.TotalSeconds:F1}"));
        parts.Add($"weights={config.Weights.Path}");
        parts.Add($"metrics={metricsPath}");
        parts.Add($"plot={plotPath}");
        return string.Join(' ', parts);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
