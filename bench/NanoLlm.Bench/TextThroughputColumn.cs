using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NanoLlm.Bench;

/// <summary>Adds the MB/s column to benchmarks that each go through the whole of Tiny Shakespeare once.</summary>
internal sealed class TextThroughputConfig : ManualConfig
{
    public TextThroughputConfig() => AddColumn(new TextThroughputColumn());
}

/// <summary>Megabytes of Tiny Shakespeare handled per second: every benchmark here goes through the whole text once.</summary>
internal sealed class TextThroughputColumn : IColumn
{
    public string Id => nameof(TextThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Megabytes (10^6 bytes) of text per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        var path = Environment.GetEnvironmentVariable(BenchData.TinyShakespeareVariable);
        if (meanNanoseconds is not > 0 || string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return "?";
        }
        var megabytes = new FileInfo(path).Length / 1e6;
        return (megabytes / (meanNanoseconds.Value / 1e9)).ToString("F2", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
