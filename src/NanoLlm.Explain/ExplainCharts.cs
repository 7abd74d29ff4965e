using System.Globalization;
using System.Text;
using NanoLlm.Inspection;
using ScottPlot;

namespace NanoLlm.Explain;

/// <summary>
/// The pictures of an <see cref="Explanation"/>: per layer, a heatmap of each head's causal attention weights
/// (queries down, keys across, both labelled with the prompt's tokens); the top next-token candidates at the last
/// positions as a grid coloured by probability; and the same candidates as a text table.
/// </summary>
public static class ExplainCharts
{
    /// <summary>Heads side by side, at most this many a row.</summary>
    public const int HeadsPerRow = 4;

    private const int MinPanelSize = 360;
    private const int MaxPanelSize = 1400;
    private const int PanelPixelsPerToken = 22;
    private const int PanelMargin = 160;
    private const int ProbabilityColumnWidth = 96;
    private const int ProbabilityRowHeight = 44;
    private const int ProbabilityMarginWidth = 220;
    private const int ProbabilityMarginHeight = 150;

    /// <summary>The attention figure's size in pixels: a square panel per head, <see cref="HeadsPerRow"/> a row.</summary>
    public static (int Width, int Height) AttentionSize(int heads, int length)
    {
        var panel = Math.Clamp(PanelMargin + (PanelPixelsPerToken * length), MinPanelSize, MaxPanelSize);
        var columns = Math.Min(heads, HeadsPerRow);
        var rows = (heads + columns - 1) / columns;
        return (columns * panel, rows * panel);
    }

    /// <summary>The probability figure's size in pixels: a column per position shown, a row per candidate.</summary>
    public static (int Width, int Height) ProbabilitiesSize(int positions, int candidates) =>
        (ProbabilityMarginWidth + (ProbabilityColumnWidth * positions), ProbabilityMarginHeight + (ProbabilityRowHeight * candidates));

    /// <summary>Layer <paramref name="layer"/>'s heads, one heatmap each: row i, column j is how much query i attends to key j (blank where j &gt; i).</summary>
    public static Multiplot AttentionFigure(Explanation explanation, int layer)
    {
        var maps = explanation.Attention ?? throw new ArgumentException("The explanation has no attention.", nameof(explanation));
        var t = maps.Length;
        var labels = explanation.Labels.Skip(maps.FirstPosition).ToArray();
        var columns = Math.Min(maps.Heads, HeadsPerRow);
        var figure = new Multiplot();
        figure.AddPlots(maps.Heads);
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid((maps.Heads + columns - 1) / columns, columns);
        for (var h = 0; h < maps.Heads; h++)
        {
            var weights = new double[t, t];
            for (var i = 0; i < t; i++)
            {
                for (var j = 0; j < t; j++)
                {
                    weights[i, j] = j <= i ? maps.Weight(layer, h, i, j) : double.NaN;
                }
            }
            var plot = figure.GetPlot(h);
            var heatmap = plot.Add.Heatmap(weights);
            heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
            heatmap.ManualRange = new ScottPlot.Range(0, 1);
            plot.Add.ColorBar(heatmap);
            // Row 0 of a heatmap is drawn at the top, at y = t − 1.
            plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, t).Select(j => (double)j)], labels);
            plot.Axes.Left.SetTicks([.. Enumerable.Range(0, t).Select(i => (double)(t - 1 - i))], labels);
            plot.Axes.Bottom.TickLabelStyle.Rotation = t > 12 ? 90 : 0;
            plot.Axes.Bottom.TickLabelStyle.Alignment = t > 12 ? Alignment.MiddleLeft : Alignment.UpperCenter;
            plot.Axes.Margins(0, 0);
            plot.Title($"layer {layer} · head {h}");
            plot.XLabel("key (attended to)");
            plot.YLabel("query (attending)");
        }
        return figure;
    }

    /// <summary>
    /// The top candidates after each of the last <paramref name="positions"/> positions: a column per position,
    /// labelled with the token there; rank 1 at the top; each cell the candidate and its probability.
    /// </summary>
    public static Plot ProbabilitiesFigure(Explanation explanation, int positions)
    {
        var first = Math.Max(0, explanation.Tokens.Count - positions);
        var shown = explanation.Tokens.Count - first;
        var ranks = explanation.Next.Max(candidates => candidates.Count);
        var probabilities = new double[ranks, shown];
        var plot = new Plot();
        for (var p = 0; p < shown; p++)
        {
            var candidates = explanation.Next[first + p];
            for (var r = 0; r < ranks; r++)
            {
                probabilities[r, p] = r < candidates.Count ? candidates[r].Probability : double.NaN;
                if (r < candidates.Count)
                {
                    var text = plot.Add.Text($"{candidates[r].Text}\n{candidates[r].Probability.ToString("0.000", CultureInfo.InvariantCulture)}", p, ranks - 1 - r);
                    text.Alignment = Alignment.MiddleCenter;
                    text.LabelFontSize = 12;
                    text.LabelFontColor = candidates[r].Probability < 0.5 ? Colors.White : Colors.Black;
                }
            }
        }
        var heatmap = plot.Add.Heatmap(probabilities);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // The heatmap goes under the text added before it.
        plot.MoveToBack(heatmap);
        plot.Add.ColorBar(heatmap);
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, shown).Select(p => (double)p)], [.. explanation.Labels.Skip(first)]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, ranks).Select(r => (double)(ranks - 1 - r))], [.. Enumerable.Range(1, ranks).Select(r => r.ToString(CultureInfo.InvariantCulture))]);
        plot.Axes.Margins(0, 0);
        plot.Title(first > 0 ? $"next-token probabilities after each of the last {shown} positions" : "next-token probabilities after each position");
        plot.XLabel("the prompt's token at this position");
        plot.YLabel("rank");
        return plot;
    }

    public static void SaveAttention(Explanation explanation, int layer, string path)
    {
        var size = AttentionSize(explanation.Attention!.Heads, explanation.Attention.Length);
        SaveAtomically(path, temporary => AttentionFigure(explanation, layer).SavePng(temporary, size.Width, size.Height));
    }

    public static void SaveProbabilities(Explanation explanation, int positions, string path)
    {
        var size = ProbabilitiesSize(Math.Min(positions, explanation.Tokens.Count), explanation.Next.Max(c => c.Count));
        SaveAtomically(path, temporary => ProbabilitiesFigure(explanation, positions).SavePng(temporary, size.Width, size.Height));
    }

    /// <summary>The candidates of the last <paramref name="positions"/> positions as text: one line per position.</summary>
    public static string Table(Explanation explanation, int positions)
    {
        var first = Math.Max(0, explanation.Tokens.Count - positions);
        var width = Math.Max(5, explanation.Labels.Skip(first).Max(label => label.Length));
        var table = new StringBuilder();
        table.Append(CultureInfo.InvariantCulture, $"{"pos",4}  {"token".PadRight(width)}  next-token candidates, most likely first").Append('\n');
        for (var p = first; p < explanation.Tokens.Count; p++)
        {
            table.Append(CultureInfo.InvariantCulture, $"{p,4}  {explanation.Labels[p].PadRight(width)}  ");
            table.AppendJoin("  ", explanation.Next[p].Select(c => $"{c.Text} {c.Probability.ToString("0.000", CultureInfo.InvariantCulture)}"));
            table.Append('\n');
        }
        return table.ToString();
    }

    // Drawn beside the target and renamed over it, so a reader never sees half an image.
    private static void SaveAtomically(string path, Action<string> save)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temporary = Path.Combine(directory, $".{Guid.NewGuid():N}.png");
        save(temporary);
        File.Move(temporary, path, overwrite: true);
    }
}
