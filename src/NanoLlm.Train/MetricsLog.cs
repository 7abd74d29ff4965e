using System.Globalization;
using NanoLlm.Storage;
using NanoLlm.Training;
using ScottPlot;

namespace NanoLlm.Train;

/// <summary>
/// The run's record beside its weights: one CSV row per step (<see cref="CsvPath"/>) and a loss-curve PNG
/// (<see cref="PlotPath"/>) redrawn at every evaluation and at the end. A resumed run keeps the rows of the steps
/// before its own (a run killed after its last checkpoint wrote rows the resumed run writes again) and plots the
/// whole history.
/// </summary>
internal sealed class MetricsLog : IDisposable
{
    public const string Header = "step,elapsed_s,loss,train_loss,val_loss,val_bpb,learning_rate,grad_norm,tokens_per_s";

    private static readonly int Columns = Header.Split(',').Length;

    private readonly bool _resume;
    private readonly List<double> _steps = [];
    private readonly List<double> _losses = [];
    private readonly List<double> _validationSteps = [];
    private readonly List<double> _validationLosses = [];
    private StreamWriter? _csv;

    public MetricsLog(string weightsPath, bool resume)
    {
        CsvPath = weightsPath + ".metrics.csv";
        PlotPath = weightsPath + ".loss.png";
        _resume = resume;
    }

    public string CsvPath { get; }

    public string PlotPath { get; }

    public void Record(TrainingProgress progress)
    {
        _csv ??= Open(progress.Step);
        var validation = progress.Validation?.Loss;
        _csv.WriteLine(string.Join(',',
            progress.Step.ToString(CultureInfo.InvariantCulture),
            Format(progress.Elapsed.TotalSeconds),
            Format(progress.Loss),
            Format(progress.Training?.Loss),
            Format(validation),
            Format(progress.Validation?.BitsPerByte),
            Format(progress.LearningRate),
            Format(progress.GradientNorm),
            Format(progress.TokensPerSecond)));
        Add(progress.Step, progress.Loss, validation);
        if (progress.Validation is not null || progress.Step == progress.TotalSteps)
        {
            _csv.Flush();
            DrawPlot();
        }
    }

    /// <summary>Flushes the CSV and draws the plot of the whole run; a disk that refuses them throws here.</summary>
    public void Close()
    {
        _csv?.Dispose();
        _csv = null;
        if (_steps.Count > 0)
        {
            DrawPlot();
        }
    }

    /// <summary>Releases the CSV of a run that failed: a disk error here must not hide the error that stopped it.</summary>
    public void Dispose()
    {
        try
        {
            _csv?.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    // Rewrites the CSV with the whole rows of the steps before this run's first (none for a fresh run), then appends.
    private StreamWriter Open(int firstStep)
    {
        var rows = new List<string>();
        if (_resume && File.Exists(CsvPath))
        {
            foreach (var line in File.ReadLines(CsvPath).Skip(1))
            {
                var cells = line.Split(',');
                if (cells.Length == Columns && Parse(cells[0]) is { } step && step < firstStep)
                {
                    rows.Add(line);
                    Add(step, Parse(cells[2]), Parse(cells[4]));
                }
            }
        }
        AtomicFile.Write(CsvPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.WriteLine(Header);
            rows.ForEach(writer.WriteLine);
        });
        return new StreamWriter(CsvPath, append: true);
    }

    private void Add(double step, double? loss, double? validation)
    {
        if (loss is { } l && double.IsFinite(l))
        {
            _steps.Add(step);
            _losses.Add(l);
        }
        if (validation is { } v)
        {
            _validationSteps.Add(step);
            _validationLosses.Add(v);
        }
    }

    private void DrawPlot()
    {
        var plot = new Plot();
        var training = plot.Add.ScatterLine(_steps.ToArray(), _losses.ToArray());
        training.LegendText = "training loss (batch)";
        var validation = plot.Add.Scatter(_validationSteps.ToArray(), _validationLosses.ToArray());
        validation.LegendText = "validation loss";
        plot.XLabel("step");
        plot.YLabel("loss (nats per token)");
        plot.ShowLegend(Alignment.UpperRight);
        // Drawn beside the target and renamed over it, so a reader never sees half an image.
        var png = plot.GetImage(900, 500).GetImageBytes();
        AtomicFile.Write(PlotPath, stream => stream.Write(png));
    }

    private static string Format(double? value) =>
        value is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : string.Empty;

    private static double? Parse(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
}
