using CsCheck;
using Microsoft.ML.Tokenizers;
using NanoLlm.Tests.Support;
using Tokenizer = NanoLlm.Tokenization.Tokenizer;

namespace NanoLlm.Tests.Tokenization;

/// <summary>
/// The shipped vocabularies against Microsoft.ML.Tokenizers' TiktokenTokenizer (the oracle: the same ranks files,
/// encoded by tiktoken's algorithm), id for id.
/// </summary>
public sealed class PretrainedTokenizerTests
{
    public static TheoryData<string> Names => ["gpt2", "cl100k_base", "o200k_base"];

    [Theory]
    [MemberData(nameof(Names))]
    public void Tiny_Shakespeare_encodes_to_the_reference_ids(string name)
    {
        var text = File.ReadAllText(TinyShakespeare.Path);

        var ids = Tokenizer.Pretrained(name).Encode(text);

        Assert.Equal(Oracle(name).EncodeToIds(text), ids);
        if (name == "gpt2")
        {
            Assert.Equal(338_025, ids.Length);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_multilingual_emoji_and_code_sample_encodes_to_the_reference_ids(string name)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Tokenization", "Samples", "multilingual.txt"));
        var tokenizer = Tokenizer.Pretrained(name);

        var ids = tokenizer.Encode(text);

        Assert.Equal(Oracle(name).EncodeToIds(text), ids);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Random_unicode_strings_encode_to_the_reference_ids_and_decode_back(string name)
    {
        var tokenizer = Tokenizer.Pretrained(name);
        var oracle = Oracle(name);

        ReferenceText.Sample(text =>
        {
            var ids = tokenizer.Encode(text);
            Assert.Equal(oracle.EncodeToIds(text), ids);
            Assert.Equal(text, tokenizer.Decode(ids));
        }, iter: 40_000, threads: 1);
    }

    [Fact]
    public void Hello_world_is_15496_995_in_gpt2()
    {
        Assert.Equal([15496, 995], Tokenizer.Pretrained("gpt2").Encode("Hello world"));
    }

    /// <summary>
    /// Random text where Microsoft.ML.Tokenizers is a faithful oracle. Its split is a .NET regular expression, which
    /// reads UTF-16 code units and .NET's case rules, so it departs from tiktoken (and NanoLlm) on characters beyond
    /// the Basic Multilingual Plane next to letters and on ſ in contractions; PreTokenizerTests covers those against
    /// the patterns themselves. Everything else is here: the sample atoms and any character of the plane.
    /// </summary>
    private static Gen<string> ReferenceText { get; } = Gen.Frequency(
        (3, SplitPatternSamples.Text.Where(IsBmpWithoutLongS)),
        (1, Gen.Char.Where(c => !char.IsSurrogate(c) && c != 'ſ').Array[0, 30].Select(chars => new string(chars))),
        (1, Gen.Int[0x10000, 0x10FFFF].Select(char.ConvertFromUtf32).Array[0, 5].Select(string.Concat)));

    private static bool IsBmpWithoutLongS(string text) => !text.Any(char.IsSurrogate) && !text.Contains('ſ', StringComparison.Ordinal);

    private static TiktokenTokenizer Oracle(string name) => name == "gpt2"
        ? TiktokenTokenizer.CreateForModel("gpt2")
        : TiktokenTokenizer.CreateForEncoding(name);
}
