using BenchmarkDotNet.Attributes;
using NanoLlm.Tokenization;

namespace NanoLlm.Bench;

/// <summary>
/// The tokenizer on the whole of Tiny Shakespeare (1.1 MB): training 4 096 tokens, and encoding and decoding the text
/// with them, the encoder beside its previous version (<see cref="PreviousBpeEncoder"/>). Each operation takes a
/// large fraction of a second, so a few monitored iterations are enough.
/// </summary>
[Config(typeof(InProcessConfig))]
[MemoryDiagnoser]
[MedianColumn]
public class BpeBenchmarks
{
    public const int VocabSize = 4096;

    private byte[] _text = [];
    private Bpe _bpe = Bpe.ByteLevel;
    private ushort[] _tokens = [];
    private PreviousBpeEncoder _previous = new([]);

    [GlobalSetup]
    public void Setup()
    {
        _text = BenchData.TinyShakespeare();
        _bpe = Bpe.Train(_text, VocabSize);
        _tokens = _bpe.Encode(_text);
        _previous = new PreviousBpeEncoder(_bpe.Merges);
        if (!_previous.Encode(_text).AsSpan().SequenceEqual(_tokens))
        {
            throw new InvalidOperationException("the encoder and its previous version disagree");
        }
    }

    [Benchmark]
    public Bpe Train() => Bpe.Train(_text, VocabSize);

    [Benchmark]
    public ushort[] Encode() => _bpe.Encode(_text);

    [Benchmark]
    public ushort[] EncodePrevious() => _previous.Encode(_text);

    [Benchmark]
    public string Decode() => _bpe.Decode(_tokens);
}
