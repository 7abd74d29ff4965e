using System.Globalization;
using NanoLlm.Storage;
using NanoLlm.Training;
using ScottPlot;

namespace NanoLlm.Train;

/// <summary>
/// The run's record beside its weights: one CSV row per step (<see cref="CsvPath"/>, <c>best_val_loss</c> the lowest
/// validation loss up to that row, <c>elapsed_s</c> the training time then) and a loss-curve PNG
/// (<see cref="PlotPath"/>) redrawn at every evaluation and at the end. With <c>diagnostics_interval</c>, the CSV gains
/// a column per parameter tensor and measure (<c>grad_norm:NAME</c>, <c>update_ratio:NAME</c>) and per activation
/// (<c>act_mean:SITE</c>, <c>act_std:SITE</c>, <c>act_saturated:SITE</c>), filled on the steps that measure them, and
/// the PNG two panels under the loss: the weight matrices' update-to-weight ratios (log10, as makemore plots them) and
/// the activations' saturated fractions. A resumed run keeps the rows of the steps before its own (a run killed after
/// its last checkpoint wrote rows the resumed run writes again), moved under its columns when diagnostics were switched
/// on or off, and plots the whole history.
/// </summary>
internal sealed class MetricsLog : IDisposable
{
    public const string Header = "step,elapsed_s,loss,train_loss,val_loss,val_bpb,learning_rate,grad_norm,tokens_per_s,best_val_loss";
    private const string UpdateRatioPrefix = "update_ratio:";
    private const string SaturatedPrefix = "act_saturated:";

    private readonly bool _resume;
    private readonly List<double> _steps = [];
    private readonly List<double> _losses = [];
    private readonly List<double> _validationSteps = [];
    private readonly List<double> _validationLosses = [];
    private readonly SortedDictionary<string, Series> _updateRatios = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, Series> _saturation = new(StringComparer.Ordinal);
    private StreamWriter? _csv;
    private string[] _columns = [];
    private HashSet<string> _matrices = [];

    public MetricsLog(string weightsPath, bool resume)
    {
        CsvPath = weightsPath + ".metrics.csv";
        PlotPath = weightsPath + ".loss.png";
        _resume = resume;
        AtomicFile.RemoveLeftovers(CsvPath);
        AtomicFile.RemoveLeftovers(PlotPath);
    }

    public string CsvPath { get; }

    public string PlotPath { get; }

    private bool HasDiagnostics => _columns.Length > 0;

    public void Record(TrainingProgress progress)
    {
        if (_csv is null)
        {
            Open(progress.Step, progress.Diagnostics);
        }
        var validation = progress.Validation?.Loss;
        var cells = new List<string>
        {
            progress.Step.ToString(CultureInfo.InvariantCulture),
            Format(progress.Elapsed.TotalSeconds),
            Format(progress.Loss),
            Format(progress.Training?.Loss),
            Format(validation),
            Format(progress.Validation?.BitsPerByte),
            Format(progress.LearningRate),
            Format(progress.GradientNorm),
            Format(progress.TokensPerSecond),
            Format(progress.Best?.Loss),
        };
        if (HasDiagnostics)
        {
            var values = progress.Diagnostics is { } diagnostics ? DiagnosticValues(diagnostics) : null;
            cells.AddRange(_columns.Select(column => values is not null && values.TryGetValue(column, out var value) ? Format(value) : string.Empty));
            if (values is not null)
            {
                AddDiagnostics(progress.Step, _columns, column => values.GetValueOrDefault(column, double.NaN));
            }
        }
        _csv!.WriteLine(string.Join(',', cells));
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

    // The columns are known from the first step a run reports: it carries diagnostics when the run measures them.
    // The CSV is rewritten with the rows of the steps before this run's first (none for a fresh run), then appended to.
    private void Open(int firstStep, TrainingDiagnostics? diagnostics)
    {
        _columns = diagnostics is null ? [] : [.. DiagnosticValues(diagnostics).Keys];
        _matrices = diagnostics is null ? [] : [.. diagnostics.Tensors.Where(t => t.Matrix).Select(t => t.Name)];
        var header = string.Join(',', [Header, .. _columns]);
        var rows = new List<string>();
        if (_resume && File.Exists(CsvPath))
        {
            var lines = File.ReadAllLines(CsvPath);
            var previous = lines.Length > 0 ? lines[0].Split(',') : [];
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < previous.Length; i++)
            {
                index.TryAdd(previous[i], i);
            }
            foreach (var line in lines.Skip(1))
            {
                var cells = line.Split(',');
                if (cells.Length != previous.Length || Parse(cells[0]) is not { } step || step >= firstStep)
                {
                    continue;
                }
                string Cell(string column) => index.TryGetValue(column, out var i) ? cells[i] : string.Empty;
                rows.Add(string.Join(',', header.Split(',').Select(Cell)));
                Add(step, Parse(cells[2]), Parse(cells[4]));
                AddDiagnostics(step, _columns, column => Parse(Cell(column)) ?? double.NaN);
            }
        }
        AtomicFile.Write(CsvPath, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.WriteLine(header);
            rows.ForEach(writer.WriteLine);
        });
        _csv = new StreamWriter(CsvPath, append: true);
    }

    // Column name → value, in the CSV's order: tensors in the model's order, then activation sites.
    private static Dictionary<string, double> DiagnosticValues(TrainingDiagnostics diagnostics)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var tensor in diagnostics.Tensors)
        {
            values[$"grad_norm:{tensor.Name}"] = tensor.GradientNorm;
            values[$"{UpdateRatioPrefix}{tensor.Name}"] = tensor.UpdateRatio;
        }
        foreach (var activation in diagnostics.Activations)
        {
            values[$"act_mean:{activation.Site}"] = activation.Mean;
            values[$"act_std:{activation.Site}"] = activation.StandardDeviation;
            values[$"{SaturatedPrefix}{activation.Site}"] = activation.Saturated;
        }
        return values;
    }

    private void AddDiagnostics(double step, IEnumerable<string> columns, Func<string, double> value)
    {
        foreach (var column in columns)
        {
            var v = value(column);
            if (!double.IsFinite(v))
            {
                continue;
            }
            // Only the weight matrices' ratios are plotted, as makemore does: vectors (biases, LayerNorm) crowd the panel.
            if (column.StartsWith(UpdateRatioPrefix, StringComparison.Ordinal) && _matrices.Contains(column[UpdateRatioPrefix.Length..]) && v > 0)
            {
                Series.For(_updateRatios, column[UpdateRatioPrefix.Length..]).Add(step, Math.Log10(v));
            }
            else if (column.StartsWith(SaturatedPrefix, StringComparison.Ordinal))
            {
                Series.For(_saturation, column[SaturatedPrefix.Length..]).Add(step, 100 * v);
            }
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
        var loss = new Plot();
        var training = loss.Add.ScatterLine(_steps.ToArray(), _losses.ToArray());
        training.LegendText = "training loss (batch)";
        var validation = loss.Add.Scatter(_validationSteps.ToArray(), _validationLosses.ToArray());
        validation.LegendText = "validation loss";
        loss.XLabel("step");
        loss.YLabel("loss (nats per token)");
        loss.ShowLegend(Alignment.UpperRight);
        byte[] png;
        if (!HasDiagnostics)
        {
            png = loss.GetImage(900, 500).GetImageBytes();
        }
        else
        {
            var figure = new Multiplot(loss);
            var ratios = figure.AddPlot();
            AddSeries(ratios, _updateRatios);
            // makemore's rule of thumb: updates about 1e-3 of the weights.
            ratios.Add.HorizontalLine(-3, 1, Colors.Gray, LinePattern.Dashed);
            ratios.Title("update / weight ‖Δw‖/‖w‖ of the weight matrices");
            ratios.YLabel("log10");
            ratios.XLabel("step");
            var saturation = figure.AddPlot();
            AddSeries(saturation, _saturation);
            saturation.Title("activations: % saturated (GELU input < −3, attention row ≥ 0.99 on one key)");
            saturation.YLabel("%");
            saturation.XLabel("step");
            figure.Layout = new ScottPlot.MultiplotLayouts.Grid(3, 1);
            // A multiplot only saves to a file: drawn in the temporary folder, so a kill leaves nothing beside the weights.
            var drawn = Path.Combine(Path.GetTempPath(), $"nanollm-{Guid.NewGuid():N}.png");
            figure.SavePng(drawn, 1100, 1400);
            png = File.ReadAllBytes(drawn);
            File.Delete(drawn);
        }
        // Drawn beside the target and renamed over it, so a reader never sees half an image.
        AtomicFile.Write(PlotPath, stream => stream.Write(png));
    }

    private static void AddSeries(Plot plot, SortedDictionary<string, Series> series)
    {
        foreach (var (name, points) in series)
        {
            var line = plot.Add.ScatterLine(points.Steps.ToArray(), points.Values.ToArray());
            line.LegendText = name;
        }
        if (series.Count > 0)
        {
            plot.ShowLegend(Edge.Right);
        }
    }

    private static string Format(double? value) =>
        value is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : string.Empty;

    private static double? Parse(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    private sealed class Series
    {
        public List<double> Steps { get; } = [];

        public List<double> Values { get; } = [];

        public static Series For(SortedDictionary<string, Series> all, string name)
        {
            if (!all.TryGetValue(name, out var series))
            {
                series = new Series();
                all[name] = series;
            }
            return series;
        }

        public void Add(double step, double value)
        {
            Steps.Add(step);
            Values.Add(value);
        }
    }
}
