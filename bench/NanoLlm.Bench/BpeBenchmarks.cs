using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using NanoLlm.Tokenization;

namespace NanoLlm.Bench;

/// <summary>
/// The tokenizer on the whole of Tiny Shakespeare (1.1 MB): training 4 096 tokens, and encoding and decoding the text
/// with them. Each operation takes a large fraction of a second, so a few monitored iterations are enough.
/// </summary>
[Config(typeof(ThroughputConfig))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class BpeBenchmarks
{
    public const int VocabSize = 4096;

    private byte[] _text = [];
    private Bpe _bpe = Bpe.ByteLevel;
    private ushort[] _tokens = [];

    [GlobalSetup]
    public void Setup()
    {
        _text = BenchData.TinyShakespeare();
        _bpe = Bpe.Train(_text, VocabSize);
        _tokens = _bpe.Encode(_text);
    }

    [Benchmark]
    public Bpe Train() => Bpe.Train(_text, VocabSize);

    [Benchmark]
    public ushort[] Encode() => _bpe.Encode(_text);

    [Benchmark]
    public string Decode() => _bpe.Decode(_tokens);

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new TextThroughputColumn());
    }

    /// <summary>Megabytes of Tiny Shakespeare handled per second: every benchmark here goes through the whole text once.</summary>
    private sealed class TextThroughputColumn : IColumn
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
}
