using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using NanoLlm.Interop;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Interop;

public sealed class Gpt2TokenizersTests : IDisposable
{
    private const string Sample = "ROMEO: But soft, what light through yonder window breaks?\n  It's the east, and Juliet is the sun!";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_gpt2_vocabulary_round_trips_through_llm_c_and_Hugging_Face_files_as_the_shipped_one()
    {
        var gpt2 = Tokenizer.Pretrained("gpt2");

        Gpt2Tokenizers.WriteLlmc(_folder.File("gpt2_tokenizer.bin"), gpt2);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("hf"), gpt2);
        var fromLlmc = Gpt2Tokenizers.ReadLlmc(_folder.File("gpt2_tokenizer.bin"));
        var fromHuggingFace = Gpt2Tokenizers.ReadHuggingFace(_folder.File("hf"));

        Assert.Equal("gpt2", fromLlmc.PretrainedName);
        Assert.Equal("gpt2", fromHuggingFace.PretrainedName);
        Assert.Equal(50_000, File.ReadLines(_folder.File("hf/merges.txt")).Count() - 1);
        Assert.Equal("Ġ t", File.ReadLines(_folder.File("hf/merges.txt")).ElementAt(1));
        var bytes = File.ReadAllBytes(_folder.File("gpt2_tokenizer.bin"));
        Assert.Equal([20240328, 2, 50257, 50256], [.. Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4)))]);
    }

    [Fact]
    public void A_vocabulary_that_is_not_gpt2s_reads_back_token_for_token()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Sample, 20)));
        var trained = Tokenizer.Train(text, 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);

        Gpt2Tokenizers.WriteLlmc(_folder.File("tokenizer.bin"), trained);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("hf"), trained);
        var fromLlmc = Gpt2Tokenizers.ReadLlmc(_folder.File("tokenizer.bin"));
        var fromHuggingFace = Gpt2Tokenizers.ReadHuggingFace(_folder.File("hf"));

        foreach (var tokenizer in (Tokenizer[])[fromLlmc, fromHuggingFace])
        {
            Assert.Null(tokenizer.PretrainedName);
            Assert.Equal(trained.VocabSize, tokenizer.VocabSize);
            Assert.Equal(trained.EndOfText, tokenizer.EndOfText);
            Assert.Equal(trained.Encode(Sample), tokenizer.Encode(Sample));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tokenizer_json_alone_reads_as_the_vocab_and_merges_it_was_made_from(bool mergesAsArrays)
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Sample, 20)));
        var trained = Tokenizer.Train(text, 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("pair"), trained);
        HuggingFaceTokenizerJson.Write(HuggingFaceTokenizerJson.FromPair(_folder.File("pair"), mergesAsArrays), _folder.File("json/tokenizer.json"));

        var fromPair = Gpt2Tokenizers.ReadHuggingFace(_folder.File("pair"));
        var fromJson = Gpt2Tokenizers.ReadHuggingFace(_folder.File("json"));

        Assert.Equal(fromPair.ToMetadata(), fromJson.ToMetadata());
        Assert.Equal(trained.EndOfText, fromJson.EndOfText);
        var withEnd = Sample + Tokenizer.EndOfTextSpelling + Sample;
        Assert.Equal(trained.Encode(withEnd, SpecialTokenHandling.Allow), fromJson.Encode(withEnd, SpecialTokenHandling.Allow));
    }

    [Fact]
    public void The_gpt2_vocabulary_in_a_tokenizer_json_reads_as_the_shipped_one()
    {
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("pair"), Tokenizer.Pretrained("gpt2"));
        HuggingFaceTokenizerJson.Write(HuggingFaceTokenizerJson.FromPair(_folder.File("pair"), mergesAsArrays: true), _folder.File("json/tokenizer.json"));

        var tokenizer = Gpt2Tokenizers.ReadHuggingFace(_folder.File("json"));

        Assert.Equal("gpt2", tokenizer.PretrainedName);
    }

    [Fact]
    public void An_added_token_beyond_the_model_vocabulary_is_a_special_token_of_its_id()
    {
        var trained = Tokenizer.Train(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Sample, 20))), 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("pair"), trained);
        var json = HuggingFaceTokenizerJson.FromPair(_folder.File("pair"), mergesAsArrays: false);
        json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 300, ["content"] = "<|im_start|>", ["special"] = true });
        HuggingFaceTokenizerJson.Write(json, _folder.File("json/tokenizer.json"));

        var tokenizer = Gpt2Tokenizers.ReadHuggingFace(_folder.File("json"));

        Assert.Equal(301, tokenizer.VocabSize);
        Assert.Equal([.. trained.Encode("ROMEO:"), 300], tokenizer.Encode("ROMEO:<|im_start|>", SpecialTokenHandling.Allow));
    }

    public static TheoryData<string, string> MalformedTokenizerJson => new()
    {
        { "not json", "not valid JSON" },
        { "model.type", "model.type is \"WordPiece\"" },
        { "model.vocab", "model.vocab is missing" },
        { "model.merges", "model.merges is missing" },
        { "model.merges[0] one part", "model.merges[0]: expected" },
        { "model.merges[0] numbers", "model.merges[0]: expected" },
        { "model.dropout", "model.dropout is 0.1" },
        { "model.continuing_subword_prefix", "model.continuing_subword_prefix is \"##\"" },
        { "normalizer", "normalizer is \"NFC\"" },
        { "pre_tokenizer", "pre_tokenizer is \"Metaspace\"" },
        { "pre_tokenizer.add_prefix_space", "pre_tokenizer.add_prefix_space is true" },
        { "added_tokens[0].id", "added_tokens[0]: " },
        { "added_tokens[0].id beyond", "added_tokens[0]: id 2000000000 is beyond the 301 tokens" },
        { "added_tokens[0].id text", "added_tokens[0]: expected an object with an id" },
        { "model not an object", "model should be an object" },
        { "pre_tokenizer.type not UTF-8", "pre_tokenizer.type is not text: it holds bytes that are not UTF-8" },
        { "model.vocab name not UTF-8", "model.vocab: the name \"a\uFFFD\" is not text: it holds bytes that are not UTF-8" },
        { "model.merges[0] not UTF-8", "model.merges[0] is not text: it holds bytes that are not UTF-8" },
        { "added_tokens[0].content not UTF-8", "added_tokens[0].content is not text: it holds bytes that are not UTF-8" },
        { "decoder.type half a surrogate pair", "decoder.type is not text: a \\u escape in it is half a surrogate pair" },
        { "added token spelling a byte", "added_tokens: special token \"\\n\" spells a token of the vocabulary" },
    };

    // Stand-ins written into the JSON, then replaced by what no JSON writer writes.
    private const string NotUtf8 = "NOT-UTF-8";
    private const string HalfSurrogatePair = "HALF-SURROGATE-PAIR";

    [Theory]
    [MemberData(nameof(MalformedTokenizerJson))]
    public void A_tokenizer_json_that_is_not_gpt2_style_byte_level_bpe_is_refused_naming_the_key(string fault, string expected)
    {
        var trained = Tokenizer.Train(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Sample, 20))), 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("pair"), trained);
        var json = HuggingFaceTokenizerJson.FromPair(_folder.File("pair"), mergesAsArrays: false);
        var model = json["model"]!.AsObject();
        switch (fault)
        {
            case "model.type": model["type"] = "WordPiece"; break;
            case "model.vocab": model.Remove("vocab"); break;
            case "model.merges": model.Remove("merges"); break;
            case "model.merges[0] one part": model["merges"]![0] = "Ġ"; break;
            case "model.merges[0] numbers": model["merges"]![0] = new JsonArray(1, 2); break;
            case "model.dropout": model["dropout"] = 0.1; break;
            case "model.continuing_subword_prefix": model["continuing_subword_prefix"] = "##"; break;
            case "normalizer": json["normalizer"] = new JsonObject { ["type"] = "NFC" }; break;
            case "pre_tokenizer": json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace" }; break;
            case "pre_tokenizer.add_prefix_space": json["pre_tokenizer"]!["add_prefix_space"] = true; break;
            case "added_tokens[0].id": json["added_tokens"]![0]!["id"] = 5; break;
            case "added_tokens[0].id beyond": json["added_tokens"]![0]!["id"] = 2_000_000_000; break;
            case "added_tokens[0].id text": json["added_tokens"]![0]!["id"] = "299"; break;
            case "model not an object": json["model"] = 7; break;
            case "pre_tokenizer.type not UTF-8": json["pre_tokenizer"]!["type"] = NotUtf8; break;
            case "model.vocab name not UTF-8": model["vocab"]![NotUtf8] = 0; break;
            case "model.merges[0] not UTF-8": model["merges"]![0] = NotUtf8; break;
            case "added_tokens[0].content not UTF-8": json["added_tokens"]![0]!["content"] = NotUtf8; break;
            case "decoder.type half a surrogate pair": json["decoder"]!["type"] = HalfSurrogatePair; break;
            case "added token spelling a byte": json["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 300, ["content"] = "\n" }); break;
        }
        var path = _folder.File("json/tokenizer.json");
        HuggingFaceTokenizerJson.Write(json, path);
        // Latin-1 maps bytes to characters one to one: the rest of the file keeps its bytes.
        var written = Encoding.Latin1.GetString(File.ReadAllBytes(path))
            .Replace(NotUtf8, "a\u00FF", StringComparison.Ordinal)
            .Replace(HalfSurrogatePair, "\\uD800", StringComparison.Ordinal);
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(written));
        if (fault == "not json")
        {
            File.WriteAllText(path, "{\"model\": {\"type\": \"BPE\",");
        }

        var error = Assert.Throws<WeightsFileException>(() => Gpt2Tokenizers.ReadHuggingFace(_folder.File("json")));

        Assert.StartsWith($"{path}: {expected}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_directory_with_neither_tokenizer_json_nor_vocab_and_merges_names_both()
    {
        Directory.CreateDirectory(_folder.File("empty"));

        var error = Assert.Throws<WeightsFileException>(() => Gpt2Tokenizers.ReadHuggingFace(_folder.File("empty")));

        Assert.Equal($"{_folder.File("empty")}: no tokenizer: NanoLlm reads GPT-2's tokenizer from vocab.json + merges.txt, or from tokenizer.json", error.Message);
    }

    [Fact]
    public void Tokenizer_files_written_for_another_split_are_refused()
    {
        var trained = Tokenizer.Train(Encoding.UTF8.GetBytes(Sample), 270);

        var error = Assert.Throws<ArgumentException>(() => Gpt2Tokenizers.WriteHuggingFace(_folder.File("hf"), trained));

        Assert.Contains("split", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_llm_c_tokenizer_is_named()
    {
        Gpt2Tokenizers.WriteLlmc(_folder.File("tokenizer.bin"), Tokenizer.Pretrained("gpt2"));
        var bytes = File.ReadAllBytes(_folder.File("tokenizer.bin"));
        File.WriteAllBytes(_folder.File("short.bin"), bytes[..^3]);

        var error = Assert.Throws<WeightsFileException>(() => Gpt2Tokenizers.ReadLlmc(_folder.File("short.bin")));

        Assert.Contains("truncated: token 50256 of 50257", error.Message, StringComparison.Ordinal);
    }
}
