using System.Globalization;
using NanoLlm.Training;
using ScottPlot;

namespace NanoLlm.Train;

/// <summary>
/// The run's record beside its weights: one CSV row per step (<see cref="CsvPath"/>) and a loss-curve PNG
/// (<see cref="PlotPath"/>) redrawn at every evaluation and at the end. A resumed run appends to the CSV and plots
/// the whole history.
/// </summary>
internal sealed class MetricsLog : IDisposable
{
    public const string Header = "step,elapsed_s,loss,train_loss,val_loss,val_bpb,learning_rate,grad_norm,tokens_per_s";

    private readonly StreamWriter _csv;
    private readonly List<double> _steps = [];
    private readonly List<double> _losses = [];
    private readonly List<double> _validationSteps = [];
    private readonly List<double> _validationLosses = [];

    public MetricsLog(string weightsPath, bool resume)
    {
        CsvPath = weightsPath + ".metrics.csv";
        PlotPath = weightsPath + ".loss.png";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(CsvPath))!);
        var append = resume && File.Exists(CsvPath);
        if (append)
        {
            foreach (var line in File.ReadLines(CsvPath).Skip(1))
            {
                var cells = line.Split(',');
                Add(Parse(cells[0])!.Value, Parse(cells[2]), Parse(cells[4]));
            }
        }
        _csv = new StreamWriter(CsvPath, append);
        if (!append)
        {
            _csv.WriteLine(Header);
        }
    }

    public string CsvPath { get; }

    public string PlotPath { get; }

    public void Record(TrainingProgress progress)
    {
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

    public void Dispose()
    {
        _csv.Dispose();
        if (_steps.Count > 0)
        {
            DrawPlot();
        }
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
        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(PlotPath))!, $".{Guid.NewGuid():N}.png");
        plot.SavePng(temporary, 900, 500);
        File.Move(temporary, PlotPath, overwrite: true);
    }

    private static string Format(double? value) =>
        value is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : string.Empty;

    private static double? Parse(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
}
