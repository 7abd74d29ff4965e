using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using NanoLlm.Tokenization;
using MicrosoftTokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer;

namespace NanoLlm.Bench;

/// <summary>
/// Encoding all of Tiny Shakespeare (1.1 MB) with a shipped vocabulary, NanoLlm against Microsoft.ML.Tokenizers'
/// TiktokenTokenizer (the baseline: same ranks, same ids) on one thread, and NanoLlm on every core with the text cut
/// into 64 KB chunks at piece boundaries (a newline between a non-space and a letter ends a piece in every split pattern).
/// </summary>
[Config(typeof(InProcessConfig))]
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private const int ChunkSize = 64 * 1024;

    private string _text = "";
    private Tokenizer _nanoLlm = Tokenizer.ByteLevel;
    private MicrosoftTokenizer? _microsoft;
    private string[] _chunks = [];

    [Params("gpt2", "cl100k_base")]
    public string Vocabulary { get; set; } = "gpt2";

    [GlobalSetup]
    public void Setup()
    {
        _text = Encoding.UTF8.GetString(BenchData.TinyShakespeare());
        _nanoLlm = Tokenizer.Pretrained(Vocabulary);
        _microsoft = Vocabulary == "gpt2" ? MicrosoftTokenizer.CreateForModel("gpt2") : MicrosoftTokenizer.CreateForEncoding(Vocabulary);
        _chunks = Chunks(_text);
        if (!_microsoft.EncodeToIds(_text).SequenceEqual(_nanoLlm.Encode(_text)) || !EncodeChunks().SequenceEqual(_nanoLlm.Encode(_text)))
        {
            throw new InvalidOperationException($"{Vocabulary}: the encoders disagree");
        }
    }

    [Benchmark(Baseline = true)]
    public IReadOnlyList<int> MicrosoftMLTokenizers() => _microsoft!.EncodeToIds(_text);

    [Benchmark]
    public int[] NanoLlm() => _nanoLlm.Encode(_text);

    [Benchmark]
    public int[] NanoLlmParallelChunks() => EncodeChunks();

    private int[] EncodeChunks()
    {
        var encoded = new int[_chunks.Length][];
        Parallel.For(0, _chunks.Length, i => encoded[i] = _nanoLlm.Encode(_chunks[i]));
        return [.. encoded.SelectMany(tokens => tokens)];
    }

    private static string[] Chunks(string text)
    {
        var chunks = new List<string>();
        var start = 0;
        while (start < text.Length)
        {
            var end = Math.Min(text.Length, start + ChunkSize);
            while (end < text.Length && !(text[end - 1] == '\n' && !char.IsWhiteSpace(text[end - 2]) && char.IsLetter(text[end])))
            {
                end++;
            }
            chunks.Add(text[start..end]);
            start = end;
        }
        return [.. chunks];
    }
}

/// <summary>Learning 4 096 tokens inside GPT-2's pieces on Tiny Shakespeare, and on 4 and 16 copies of it.</summary>
[Config(typeof(InProcessConfig))]
[MemoryDiagnoser]
public class TokenizerTrainingBenchmarks
{
    private byte[] _text = [];

    [Params(1, 4, 16)]
    public int Copies { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        var once = BenchData.TinyShakespeare();
        _text = new byte[once.Length * Copies];
        for (var i = 0; i < Copies; i++)
        {
            once.CopyTo(_text, i * once.Length);
        }
    }

    [Benchmark]
    public Tokenizer TrainGpt2Split() => Tokenizer.Train(_text, 4096, SplitPattern.Gpt2);
}

/// <summary>
/// In the benchmark's own process (no generated project to build: on a loaded machine that build outlives
/// BenchmarkDotNet's two-minute timeout), 3 warmup and 10 measured iterations, with the MB/s column.
/// </summary>
internal sealed class InProcessConfig : ManualConfig
{
    public InProcessConfig()
    {
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithStrategy(RunStrategy.Monitoring).WithToolchain(InProcessEmitToolchain.Instance));
        AddColumn(new TextThroughputColumn());
    }
}
