using System.Text;
using CsCheck;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Tokenization;

public sealed class TokenizerTests
{
    private const string Corpus = "the king and the queen<|endoftext|>the lord's night, the king's love<|endoftext|>sweet night, sweet love";

    private static Tokenizer Trained(SplitPattern split = SplitPattern.Gpt2) =>
        Tokenizer.Train(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Corpus, 5))), 300, split, ["<|endoftext|>"]);

    [Fact]
    public void Special_tokens_take_the_ids_after_the_merges()
    {
        var tokenizer = Trained();

        // The small corpus runs out of pairs that occur twice before 300 tokens.
        Assert.InRange(tokenizer.VocabSize, 270, 300);
        Assert.Equal(new SpecialToken("<|endoftext|>", 256 + tokenizer.Merges.Count), Assert.Single(tokenizer.SpecialTokens));
        Assert.Equal(tokenizer.VocabSize - 1, tokenizer.EndOfText);
    }

    [Fact]
    public void Text_holding_a_special_token_is_refused_by_default_naming_it()
    {
        var message = Assert.Throws<ArgumentException>(() => Trained().Encode("a<|endoftext|>b")).Message;

        Assert.Contains("<|endoftext|>", message);
    }

    [Fact]
    public void Allowed_special_tokens_become_their_ids_and_as_text_they_are_ordinary_text()
    {
        var tokenizer = Trained();

        var allowed = tokenizer.Encode("the king<|endoftext|>night", SpecialTokenHandling.Allow);
        var asText = tokenizer.Encode("the king<|endoftext|>night", SpecialTokenHandling.AsText);

        var endOfText = tokenizer.EndOfText!.Value;
        Assert.Single(allowed, endOfText);
        Assert.Equal([.. tokenizer.Encode("the king"), endOfText, .. tokenizer.Encode("night")], allowed);
        Assert.DoesNotContain(endOfText, asText);
        Assert.Equal("the king<|endoftext|>night", tokenizer.Decode(asText));
        Assert.Equal("the king<|endoftext|>night", tokenizer.Decode(allowed));
    }

    [Fact]
    public void Gpt2_allows_its_end_of_text_token()
    {
        var gpt2 = Tokenizer.Pretrained("gpt2");

        Assert.Equal([15496, 50256, 995], gpt2.Encode("Hello<|endoftext|> world", SpecialTokenHandling.Allow));
        Assert.Equal(50257, gpt2.VocabSize);
        Assert.Equal(50256, gpt2.EndOfText);
    }

    public static TheoryData<string> EncoderNames => ["gpt2", "o200k_base", "trained", "trained without split", "bytes"];

    private static Tokenizer Named(string name) => name switch
    {
        "trained" => Trained(),
        "trained without split" => Trained(SplitPattern.None),
        "bytes" => Tokenizer.ByteLevel,
        _ => Tokenizer.Pretrained(name),
    };

    [Theory]
    [MemberData(nameof(EncoderNames))]
    public void Encoding_into_a_buffer_of_one_id_per_byte_gives_the_ids_of_encode(string name)
    {
        var tokenizer = Named(name);
        var shakespeare = File.ReadAllBytes(TinyShakespeare.Path).AsSpan(0, 200_000).ToArray();
        var buffer = new int[shakespeare.Length];

        var count = tokenizer.Encode(shakespeare, buffer, SpecialTokenHandling.AsText);

        Assert.Equal(tokenizer.Encode(shakespeare, SpecialTokenHandling.AsText), buffer[..count]);
        Gen.String.Sample(text =>
        {
            var utf8 = Encoding.UTF8.GetBytes(text + "<|endoftext|>" + text);
            var exact = new int[utf8.Length];
            var written = tokenizer.Encode(utf8, exact, SpecialTokenHandling.Allow);
            Assert.Equal(tokenizer.Encode(utf8, SpecialTokenHandling.Allow), exact[..written]);
        }, iter: 2000, threads: 1);
    }

    [Fact]
    public void Encoding_into_a_buffer_shorter_than_the_text_is_refused()
    {
        var message = Assert.Throws<ArgumentException>(() => Tokenizer.Pretrained("gpt2").Encode("Hello world"u8, new int[10])).Message;

        Assert.Contains("11", message);
    }

    [Fact]
    public void A_special_token_that_spells_a_vocabulary_token_is_refused()
    {
        var message = Assert.Throws<FormatException>(() => Tokenizer.Pretrained("gpt2", [" the"])).Message;

        Assert.Contains(" the", message);
    }

    [Fact]
    public void Extra_special_tokens_of_a_pretrained_vocabulary_get_new_ids()
    {
        var gpt2 = Tokenizer.Pretrained("gpt2", ["<|endoftext|>", "<|im_start|>"]);

        Assert.Equal([new SpecialToken("<|endoftext|>", 50256), new SpecialToken("<|im_start|>", 50257)], gpt2.SpecialTokens);
        Assert.Equal(50258, gpt2.VocabSize);
    }

    [Fact]
    public void Decoding_any_ids_never_throws()
    {
        var tokenizer = Tokenizer.Pretrained("cl100k_base");

        Gen.Int[-5, tokenizer.VocabSize + 5].Array[0, 12].Sample(ids =>
        {
            var text = tokenizer.Decode(ids);
            var expected = Encoding.UTF8.GetString([.. ids.SelectMany(id => tokenizer.TokenBytes(id).IsEmpty ? "\uFFFD"u8.ToArray() : tokenizer.TokenBytes(id).ToArray())]);
            Assert.Equal(expected, text);
        }, iter: 2000, threads: 1);
        Assert.Equal("\uFFFD", tokenizer.Decode([100256]));
        Assert.Equal("\uFFFD\uFFFD", tokenizer.Decode([-1, int.MaxValue]));
    }

    [Fact]
    public void The_text_decoder_gives_out_whole_characters_only()
    {
        var bytes = Tokenizer.ByteLevel;
        var decoder = bytes.StartTextDecoder();
        var emoji = bytes.Encode("a🙂");

        var pieces = emoji.Select(decoder.Append).ToList();

        Assert.Equal(["a", "", "", "", "🙂"], pieces);
        Assert.Equal("", decoder.Flush());
        Assert.Equal("", decoder.Append(0xF0));
        Assert.Equal("\uFFFD", decoder.Flush());
    }

    [Theory]
    [InlineData(SplitPattern.None)]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.Gpt4)]
    [InlineData(SplitPattern.O200k)]
    public void Metadata_round_trip_keeps_a_trained_tokenizer(SplitPattern split)
    {
        var tokenizer = Trained(split);

        var loaded = Tokenizer.FromMetadata(tokenizer.ToMetadata());

        Assert.Equal(split, loaded.Split);
        Assert.Equal(tokenizer.Merges, loaded.Merges);
        Assert.Equal(tokenizer.SpecialTokens, loaded.SpecialTokens);
        Assert.Equal(tokenizer.Encode(Corpus, SpecialTokenHandling.Allow), loaded.Encode(Corpus, SpecialTokenHandling.Allow));
    }

    [Fact]
    public void A_basic_tokenizer_keeps_the_byte_bpe_metadata_of_earlier_weights_files()
    {
        var tokenizer = Tokenizer.Train("abcabc"u8, 1000);

        Assert.Equal("""{"type":"byte_bpe","merges":[[97,98],[256,99]]}""", tokenizer.ToMetadata());
        Assert.Equal(258, Tokenizer.FromMetadata(tokenizer.ToMetadata()).VocabSize);
    }

    [Fact]
    public void A_shipped_vocabulary_is_stored_by_name_and_checksum()
    {
        var tokenizer = Tokenizer.Pretrained("gpt2", ["<|im_start|>"]);

        var metadata = tokenizer.ToMetadata();
        var loaded = Tokenizer.FromMetadata(metadata);

        Assert.True(metadata.Length < 300, metadata);
        Assert.Contains("\"pretrained\":\"gpt2\"", metadata, StringComparison.Ordinal);
        Assert.Equal(tokenizer.SpecialTokens, loaded.SpecialTokens);
        Assert.Equal([15496, 995], loaded.Encode("Hello world"));
        var tampered = metadata.Replace("\"sha256\":\"", "\"sha256\":\"0", StringComparison.Ordinal);
        Assert.Contains("SHA-256", Assert.Throws<FormatException>(() => Tokenizer.FromMetadata(tampered)).Message);
    }

    [Theory]
    [InlineData("""{"type":"tiktoken","split":"none","pretrained":"gpt2","sha256":"x","special_tokens":{}}""", "needs a split pattern")]
    [InlineData("""{"type":"tiktoken","split":"gpt2","pretrained":"gpt3","sha256":"x","special_tokens":{}}""", "gpt3")]
    [InlineData("""{"type":"bpe","split":"gpt5","merges":[],"special_tokens":{}}""", "gpt5")]
    [InlineData("""{"type":"bpe","split":"gpt2","merges":[],"special_tokens":{"<|a|>":-1}}""", "<|a|>")]
    [InlineData("""{"type":"bpe","split":"gpt2","merges":[],"special_tokens":{},"extra":1}""", "extra")]
    [InlineData("""{"type":"words"}""", "words")]
    public void Malformed_tokenizer_metadata_is_refused(string metadata, string expected)
    {
        Assert.Contains(expected, Assert.Throws<FormatException>(() => Tokenizer.FromMetadata(metadata)).Message);
    }

    [Fact]
    public void A_ranks_file_loads_and_its_tokenizer_carries_the_ranks_in_metadata()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "tiny.tiktoken");
        File.WriteAllText(path, TinyRanks());

        var tokenizer = Tokenizer.FromTiktokenFile(path, SplitPattern.Gpt2, ["<|endoftext|>"]);
        var loaded = Tokenizer.FromMetadata(tokenizer.ToMetadata());

        // "ab" is rank 256, "abc" 257: the pair with the lowest rank merges first.
        Assert.Equal([257, 32, 256], tokenizer.Encode("abc ab"));
        Assert.Equal([257, 32, 256, 258], loaded.Encode("abc ab<|endoftext|>", SpecialTokenHandling.Allow));
    }

    [Theory]
    [InlineData("YQ== 0\nYQ== 1\n", "spell the same bytes")]
    [InlineData("YQ== 0\nYg== 0\n", "line 2")]
    [InlineData("YQ== x\n", "line 1")]
    [InlineData("YQ== 0\nYg== 16000000\n", "line 2: rank 16000000 is beyond the 2 tokens the file lists")]
    [InlineData("@@@ 0\n", "not base64")]
    [InlineData("", "no ranks")]
    [InlineData("YQ== 0\n", "byte 0 has no token")]
    public void A_corrupt_ranks_file_is_refused_naming_what_is_wrong(string text, string expected)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "bad.tiktoken");
        File.WriteAllText(path, text);

        var message = Assert.Throws<FormatException>(() => Tokenizer.FromTiktokenFile(path, SplitPattern.Gpt2)).Message;

        Assert.Contains(expected.Replace("line ", "bad.tiktoken:", StringComparison.Ordinal), message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hugging_face_vocab_and_merges_pair_encodes_as_its_ranks()
    {
        using var folder = new TempFolder();
        var (vocab, merges) = (Path.Combine(folder.Path, "vocab.json"), Path.Combine(folder.Path, "merges.txt"));
        var entries = Enumerable.Range(0, 256).Select(b => (Token: ByteToUnicode(b), Id: b)).ToList();
        entries.AddRange([("Ġt", 256), ("he", 257), ("Ġthe", 258), ("<|endoftext|>", 259)]);
        File.WriteAllText(vocab, "{" + string.Join(",", entries.Select(e => $"{System.Text.Json.JsonSerializer.Serialize(e.Token)}:{e.Id}")) + "}");
        File.WriteAllText(merges, "#version: 0.2\nĠ t\nh e\nĠt he\n");

        var tokenizer = Tokenizer.FromHuggingFaceFiles(vocab, merges);

        Assert.Equal([(int)'t', 257, 258, 259], tokenizer.Encode("the the<|endoftext|>", SpecialTokenHandling.Allow));
        Assert.Equal(new SpecialToken("<|endoftext|>", 259), Assert.Single(tokenizer.SpecialTokens));
    }

    [Fact]
    public void Hugging_face_merges_out_of_id_order_are_refused()
    {
        using var folder = new TempFolder();
        var (vocab, merges) = (Path.Combine(folder.Path, "vocab.json"), Path.Combine(folder.Path, "merges.txt"));
        var entries = Enumerable.Range(0, 256).Select(b => (Token: ByteToUnicode(b), Id: b)).ToList();
        entries.AddRange([("he", 257), ("ab", 256)]);
        File.WriteAllText(vocab, "{" + string.Join(",", entries.Select(e => $"{System.Text.Json.JsonSerializer.Serialize(e.Token)}:{e.Id}")) + "}");
        File.WriteAllText(merges, "h e\na b\n");

        Assert.Contains("merges.txt:2", Assert.Throws<FormatException>(() => Tokenizer.FromHuggingFaceFiles(vocab, merges)).Message);
    }

    [Fact]
    public void A_hugging_face_id_beyond_the_tokens_listed_is_refused_before_any_table_grows_to_it()
    {
        using var folder = new TempFolder();
        var (vocab, merges) = (Path.Combine(folder.Path, "vocab.json"), Path.Combine(folder.Path, "merges.txt"));
        var entries = Enumerable.Range(0, 256).Select(b => (Token: ByteToUnicode(b), Id: b == 97 ? 2_000_000_000 : b)).ToList();
        File.WriteAllText(vocab, "{" + string.Join(",", entries.Select(e => $"{System.Text.Json.JsonSerializer.Serialize(e.Token)}:{e.Id}")) + "}");
        File.WriteAllText(merges, "#version: 0.2\n");

        var message = Assert.Throws<FormatException>(() => Tokenizer.FromHuggingFaceFiles(vocab, merges)).Message;

        Assert.Contains("vocab.json: token \"a\" has id 2000000000, beyond the 256 tokens it lists", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hugging_face_token_holding_a_line_break_is_quoted_on_one_line()
    {
        using var folder = new TempFolder();
        var (vocab, merges) = (Path.Combine(folder.Path, "vocab.json"), Path.Combine(folder.Path, "merges.txt"));
        var entries = Enumerable.Range(0, 256).Select(b => (Token: ByteToUnicode(b), Id: b)).ToList();
        entries.Add(("a\r\nb", -1));
        File.WriteAllText(vocab, "{" + string.Join(",", entries.Select(e => $"{System.Text.Json.JsonSerializer.Serialize(e.Token)}:{e.Id}")) + "}");
        File.WriteAllText(merges, "#version: 0.2\n");

        var message = Assert.Throws<FormatException>(() => Tokenizer.FromHuggingFaceFiles(vocab, merges)).Message;

        Assert.Contains("token \"a\\r\\nb\" has id -1", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\r', message);
    }

    [Fact]
    public void A_hugging_face_vocab_whose_name_is_not_utf8_is_refused_naming_the_file()
    {
        using var folder = new TempFolder();
        var (vocab, merges) = (Path.Combine(folder.Path, "vocab.json"), Path.Combine(folder.Path, "merges.txt"));
        File.WriteAllBytes(vocab, [.. "{\"a\": 0, \""u8, 0xFF, .. "\": 1}"u8]);
        File.WriteAllText(merges, "#version: 0.2\n");

        var message = Assert.Throws<FormatException>(() => Tokenizer.FromHuggingFaceFiles(vocab, merges)).Message;

        Assert.Equal($"{vocab}: the name \"\uFFFD\" is not text: it holds bytes that are not UTF-8", message);
    }

    [Fact]
    public void A_special_token_holding_a_line_break_is_quoted_on_one_line()
    {
        using var folder = new TempFolder();
        var (vocab, merges) = (Path.Combine(folder.Path, "vocab.json"), Path.Combine(folder.Path, "merges.txt"));
        var entries = Enumerable.Range(0, 256).Select(b => (Token: ByteToUnicode(b), Id: b)).Append((Token: "\n", Id: 256));
        File.WriteAllText(vocab, "{" + string.Join(",", entries.Select(e => $"{System.Text.Json.JsonSerializer.Serialize(e.Token)}:{e.Id}")) + "}");
        File.WriteAllText(merges, "#version: 0.2\n");

        var message = Assert.Throws<FormatException>(() => Tokenizer.FromHuggingFaceFiles(vocab, merges)).Message;

        Assert.Equal("special token \"\\n\" spells a token of the vocabulary", message);
    }

    /// <summary>256 single bytes at their own ranks, then "ab" and "abc".</summary>
    private static string TinyRanks()
    {
        var lines = Enumerable.Range(0, 256).Select(b => $"{Convert.ToBase64String([(byte)b])} {b}");
        return string.Join("\n", lines.Append($"{Convert.ToBase64String("ab"u8.ToArray())} 256").Append($"{Convert.ToBase64String("abc"u8.ToArray())} 257")) + "\n";
    }

    /// <summary>GPT-2's bytes_to_unicode for one byte.</summary>
    private static string ByteToUnicode(int b)
    {
        var next = 256;
        for (var i = 0; i < 256; i++)
        {
            var printable = i is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            var character = printable ? i : next++;
            if (i == b)
            {
                return ((char)character).ToString();
            }
        }
        throw new ArgumentOutOfRangeException(nameof(b));
    }
}
