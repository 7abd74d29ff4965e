using BenchmarkDotNet.Attributes;
using NanoLlm.Tokenization;

namespace NanoLlm.Bench;

/// <summary>
/// The tokenizer on the whole of Tiny Shakespeare (1.1 MB): training 4 096 tokens, and encoding and decoding the text
/// with them. Each operation takes a large fraction of a second, so a few monitored iterations are enough.
/// </summary>
[Config(typeof(InProcessConfig))]
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
}
