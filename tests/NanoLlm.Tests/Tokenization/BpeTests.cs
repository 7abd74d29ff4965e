using System.Text;
using CsCheck;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Tokenization;

public sealed class BpeTests
{
    private static readonly string[] Words =
    [
        "the", "and", "to", "of", "thee", "thou", "king", "lord", "love", "sweet", "night", "banana", "mississippi",
        "aaaa", "naïve", "café", "日本語", "🙂", "👍🏽", "e\u0301", "—", ",", ".", "!", "\n",
    ];

    [Fact]
    public void Byte_level_has_256_tokens_and_no_merges()
    {
        Assert.Equal(256, Bpe.ByteLevel.VocabSize);
        Assert.Empty(Bpe.ByteLevel.Merges);
    }

    [Fact]
    public void Byte_level_encodes_each_utf8_byte_as_its_own_token()
    {
        var tokens = Bpe.ByteLevel.Encode("aé");

        Assert.Equal([(ushort)'a', 0xC3, 0xA9], tokens);
    }

    [Fact]
    public void Encoding_a_string_is_encoding_its_utf8_bytes()
    {
        var text = SampleText(seed: 1, length: 2000);
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(text), 400);

        Assert.Equal(bpe.Encode(Encoding.UTF8.GetBytes(text)), bpe.Encode(text));
    }

    [Fact]
    public void Encoding_nothing_gives_no_tokens()
    {
        var bpe = Bpe.Train("abababab"u8, 300);

        Assert.Empty(bpe.Encode(""));
        Assert.Empty(bpe.Encode(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void A_merged_token_stands_for_the_bytes_of_its_two_parts()
    {
        var bpe = Bpe.Train("hello hello hello"u8, 260);

        for (var token = 256; token < bpe.VocabSize; token++)
        {
            var pair = bpe.Merges[token - 256];
            byte[] expected = [.. bpe.TokenBytes(pair.Left), .. bpe.TokenBytes(pair.Right)];
            Assert.Equal(expected, bpe.TokenBytes(token).ToArray());
        }
        Assert.Equal("h"u8.ToArray(), bpe.TokenBytes('h').ToArray());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(256)]
    [InlineData(int.MaxValue)]
    public void Token_ids_outside_the_vocabulary_are_refused(int token)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Bpe.ByteLevel.TokenBytes(token).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => Bpe.ByteLevel.Decode([token]));
    }

    [Fact]
    public void Decoding_a_token_outside_the_vocabulary_is_refused()
    {
        ushort[] tokens = ['a', 256];

        Assert.Throws<ArgumentOutOfRangeException>(() => Bpe.ByteLevel.Decode(tokens));
    }

    [Theory]
    [InlineData(1, 0, 2)]
    [InlineData(2, 1, 2)]
    [InlineData(3, 2, 2)]
    [InlineData(4, 3, 2)]
    [InlineData(5, 50, 2)]
    [InlineData(6, 1000, 2)]
    [InlineData(7, 1000, 3)]
    [InlineData(8, 3000, 4)]
    [InlineData(9, 3000, 16)]
    [InlineData(10, 3000, 256)]
    public void Training_matches_the_naive_recount_trainer_on_random_bytes(int seed, int length, int alphabetSize)
    {
        var random = new Random(seed);
        var text = new byte[length];
        for (var i = 0; i < length; i++)
        {
            text[i] = (byte)random.Next(alphabetSize);
        }

        AssertTrainsLikeTheNaiveTrainer(text, vocabSize: 256 + 300);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Training_matches_the_naive_recount_trainer_on_text(int seed)
    {
        var text = Encoding.UTF8.GetBytes(SampleText(seed, length: 4000));

        AssertTrainsLikeTheNaiveTrainer(text, vocabSize: 256 + 200);
    }

    [Theory]
    [InlineData("aaaaaaa")]
    [InlineData("aaaaaaaa")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aaa aaaa aaaaa aaaaaa aaaaaaa aaaaaaaa aaaaaaaaaaaaaaaaaaaaa b aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("abababababababababab aba ababa bababab")]
    [InlineData("aaabaaabaaabaabaaaabbbbabbbbbaaaaaaaa")]
    public void Training_matches_the_naive_recount_trainer_on_repeated_character_runs(string text)
    {
        AssertTrainsLikeTheNaiveTrainer(Encoding.UTF8.GetBytes(text), vocabSize: 256 + 100);
    }

    [Fact]
    public void Training_matches_the_naive_recount_trainer_on_random_runs()
    {
        var random = new Random(13);
        var text = new List<byte>();
        while (text.Count < 3000)
        {
            var symbol = (byte)"ab "[random.Next(3)];
            text.AddRange(Enumerable.Repeat(symbol, 1 + random.Next(12)));
        }

        AssertTrainsLikeTheNaiveTrainer(text.ToArray(), vocabSize: 256 + 300);
    }

    [Theory]
    [InlineData("xyab xyab", 'a', 'b')]
    [InlineData("azay azay", 'a', 'y')]
    [InlineData("zz yy zz yy", ' ', 'y')]
    public void Equally_frequent_pairs_are_merged_smallest_pair_first(string text, char left, char right)
    {
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(text), 257);

        Assert.Equal(new TokenPair(left, right), Assert.Single(bpe.Merges));
    }

    [Fact]
    public void The_most_frequent_pair_is_merged_first()
    {
        // (z, q) occurs three times, the smaller pairs (' ', a) and (a, b) twice.
        var bpe = Bpe.Train("zqzqzq ab ab"u8, 257);

        Assert.Equal(new TokenPair('z', 'q'), Assert.Single(bpe.Merges));
    }

    [Fact]
    public void Training_adds_one_token_per_merge_up_to_the_vocab_size()
    {
        var text = Encoding.UTF8.GetBytes(SampleText(seed: 14, length: 3000));

        var bpe = Bpe.Train(text, 300);

        Assert.Equal(300, bpe.VocabSize);
        Assert.Equal(44, bpe.Merges.Count);
    }

    [Fact]
    public void Training_stops_early_when_no_pair_occurs_twice()
    {
        Assert.Equal(256, Bpe.Train("abcdefg"u8, 1000).VocabSize);
        Assert.Equal(256, Bpe.Train(""u8, 1000).VocabSize);
        Assert.Equal(256, Bpe.Train("a"u8, 1000).VocabSize);

        // ab ab → X c X c → Y Y, and (Y, Y) occurs once.
        var bpe = Bpe.Train("abcabc"u8, 1000);

        Assert.Equal([new TokenPair('a', 'b'), new TokenPair(256, 'c')], bpe.Merges);
        Assert.Equal(258, bpe.VocabSize);
    }

    [Theory]
    [InlineData(int.MinValue)]
    [InlineData(0)]
    [InlineData(255)]
    [InlineData(65537)]
    [InlineData(int.MaxValue)]
    public void Train_rejects_vocab_sizes_out_of_range(int vocabSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Bpe.Train("abab"u8, vocabSize));
    }

    [Fact]
    public void Training_to_256_tokens_learns_no_merges()
    {
        Assert.Empty(Bpe.Train("abababab"u8, 256).Merges);
    }

    [Theory]
    [InlineData(15, 2)]
    [InlineData(16, 3)]
    [InlineData(17, 256)]
    public void Encoding_matches_the_naive_merge_by_rank_encoder(int seed, int alphabetSize)
    {
        var random = new Random(seed);
        var training = RandomBytes(random, 3000, alphabetSize);
        var bpe = Bpe.Train(training, 256 + 300);

        AssertEncodesLikeTheNaiveEncoder(bpe, training);
        for (var sample = 0; sample < 20; sample++)
        {
            AssertEncodesLikeTheNaiveEncoder(bpe, RandomBytes(random, random.Next(300), alphabetSize));
        }
    }

    [Fact]
    public void Encoding_text_matches_the_naive_merge_by_rank_encoder()
    {
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(SampleText(seed: 18, length: 4000)), 256 + 200);

        AssertEncodesLikeTheNaiveEncoder(bpe, Encoding.UTF8.GetBytes(SampleText(seed: 19, length: 4000)));
        AssertEncodesLikeTheNaiveEncoder(bpe, Encoding.UTF8.GetBytes(new string('a', 1001)));
        AssertEncodesLikeTheNaiveEncoder(bpe, "aaaa aaaaa aaaaaaaaaaaa mississippi bananananana"u8.ToArray());
    }

    [Fact]
    public void Encoding_runs_of_few_symbols_matches_the_naive_merge_by_rank_encoder()
    {
        // Runs make merges of a token with itself, (a, a) and then (X, X), whose occurrences overlap: only those must
        // be merged left to right, the others may go in any order. Short texts also outgrow the encoder's first pool.
        var runs = Gen.Select(Gen.Byte[(byte)'a', (byte)'c'], Gen.Int[1, 12], (symbol, length) => Enumerable.Repeat(symbol, length))
            .Array[0, 40]
            .Select(parts => parts.SelectMany(part => part).ToArray());

        Gen.Select(runs, runs, Gen.Int[1, 80]).Sample(sample =>
        {
            var (training, text, mergeCount) = sample;
            var bpe = Bpe.Train(training, 256 + mergeCount);

            AssertEncodesLikeTheNaiveEncoder(bpe, training);
            AssertEncodesLikeTheNaiveEncoder(bpe, text);
        }, iter: 1000, threads: 1);
    }

    [Fact]
    public void Encoding_in_blocks_cut_between_bytes_no_token_joins_matches_the_naive_merge_by_rank_encoder()
    {
        // Three symbols but tokens of only a few of their pairs: the text is cut wherever a block is long enough and
        // the next two bytes never sit side by side in a token, down to blocks of one byte.
        var texts = Gen.Byte[(byte)'a', (byte)'c'].Array[0, 200];

        Gen.Select(texts, texts, Gen.Int[1, 60], Gen.Int[1, 40]).Sample(sample =>
        {
            var (training, text, mergeCount, blockLength) = sample;
            var bpe = Bpe.Train(training, 256 + mergeCount);

            Assert.Equal(NaiveBpe.Encode(text, bpe.Merges), bpe.Encode(text, blockLength).Select(token => (int)token));
        }, iter: 1000, threads: 1);
    }

    [Fact]
    public void Encoding_the_training_text_gives_one_token_for_a_repeated_run()
    {
        var bpe = Bpe.Train("aaaaaaaa aaaaaaaa"u8, 1000);

        // aa → 256, 256 256 → 257, 257 257 → 258: eight a's are one token.
        Assert.Equal([(ushort)258], bpe.Encode("aaaaaaaa"));
        Assert.Equal([(ushort)258, 256, 'a'], bpe.Encode("aaaaaaaaaaa"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("To be, or not to be, that is the question.")]
    [InlineData("naïve café — résumé")]
    [InlineData("日本語のテキスト、中文文本")]
    [InlineData("🙂👍🏽👨‍👩‍👧‍👦🇫🇷")]
    [InlineData("e\u0301 a\u0300\u0323 Z\u0351\u0360\u0361")]
    [InlineData("\0\t\r\n\u007f\u0080\uffff")]
    public void Encode_then_decode_returns_the_original_text(string text)
    {
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(SampleText(seed: 20, length: 3000)), 256 + 150);

        Assert.Equal(text, bpe.Decode(bpe.Encode(text)));
        Assert.Equal(text, Bpe.ByteLevel.Decode(Bpe.ByteLevel.Encode(text)));
    }

    [Fact]
    public void Encode_then_decode_returns_random_unicode_strings()
    {
        var random = new Random(21);
        var training = new StringBuilder();
        while (training.Length < 4000)
        {
            training.Append(RandomUnicode(random, 40)).Append(' ');
        }
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(training.ToString()), 256 + 300);

        for (var sample = 0; sample < 300; sample++)
        {
            var text = RandomUnicode(random, random.Next(60));
            Assert.Equal(text, bpe.Decode(bpe.Encode(text)));
        }
    }

    [Fact]
    public void Decoding_a_split_utf8_character_yields_the_replacement_character()
    {
        var e = Bpe.ByteLevel.Encode("é");

        Assert.Equal("\uFFFD", Bpe.ByteLevel.Decode(e.AsSpan(0, 1)));
        Assert.Equal("\uFFFDA", Bpe.ByteLevel.Decode([e[1], 'A']));
        ushort[] truncatedEmoji = ['A', 0xF0, 0x9F, 0x99];
        Assert.Equal("A\uFFFD", Bpe.ByteLevel.Decode(truncatedEmoji));
    }

    [Fact]
    public void Decoding_any_token_sequence_never_throws_and_replaces_invalid_utf8()
    {
        var random = new Random(22);
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(SampleText(seed: 23, length: 4000)), 256 + 200);
        var sawReplacement = false;

        for (var sample = 0; sample < 500; sample++)
        {
            var tokens = new ushort[random.Next(12)];
            for (var i = 0; i < tokens.Length; i++)
            {
                tokens[i] = (ushort)random.Next(bpe.VocabSize);
            }
            var bytes = tokens.SelectMany(token => bpe.TokenBytes(token).ToArray()).ToArray();

            var text = bpe.Decode(tokens);

            Assert.Equal(Encoding.UTF8.GetString(bytes), text);
            Assert.Equal(text, bpe.Decode(tokens.Select(token => (int)token).ToArray()));
            sawReplacement |= text.Contains('\uFFFD');
        }
        Assert.True(sawReplacement);
    }

    [Fact]
    public void Metadata_round_trip_keeps_the_merges_and_the_encoding()
    {
        var text = SampleText(seed: 24, length: 3000);
        var bpe = Bpe.Train(Encoding.UTF8.GetBytes(text), 256 + 200);

        var loaded = Bpe.FromMetadata(bpe.ToMetadata());

        Assert.Equal(bpe.VocabSize, loaded.VocabSize);
        Assert.Equal(bpe.Merges, loaded.Merges);
        Assert.Equal(bpe.Encode(text), loaded.Encode(text));
    }

    [Fact]
    public void Byte_level_metadata_round_trips_to_no_merges()
    {
        var loaded = Bpe.FromMetadata(Bpe.ByteLevel.ToMetadata());

        Assert.Equal(256, loaded.VocabSize);
        Assert.Empty(loaded.Merges);
    }

    [Fact]
    public void Metadata_lists_the_merges_as_pairs_in_order()
    {
        var bpe = Bpe.Train("abcabc"u8, 1000);

        Assert.Equal("""{"type":"byte_bpe","merges":[[97,98],[256,99]]}""", bpe.ToMetadata());
    }

    [Fact]
    public void Metadata_with_the_largest_vocabulary_loads()
    {
        var bpe = Bpe.FromMetadata(MetadataOfBytePairs(65536 - 256));

        Assert.Equal(65536, bpe.VocabSize);
        Assert.Equal([(ushort)65535], bpe.Encode([254, 255]));
    }

    [Fact]
    public void Metadata_with_more_tokens_than_fit_in_16_bits_is_refused()
    {
        var message = Assert.Throws<FormatException>(() => Bpe.FromMetadata(MetadataOfBytePairs(65536 - 256 + 1))).Message;

        Assert.Contains("65281 merges", message);
        Assert.Contains("65280", message);
    }

    [Fact]
    public void Metadata_whose_tokens_would_spell_more_bytes_than_an_array_holds_is_refused()
    {
        // Each merge doubles the token before it: 2^40 bytes after 40 merges.
        var merges = string.Join(",", Enumerable.Range(0, 40).Select(i => i == 0 ? "[97,97]" : $"[{255 + i},{255 + i}]"));

        var message = Assert.Throws<FormatException>(() => Bpe.FromMetadata($$"""{"type":"byte_bpe","merges":[{{merges}}]}""")).Message;

        Assert.Contains("bytes in all", message);
    }

    [Fact]
    public void Metadata_whose_tokens_would_spell_more_than_8_MiB_is_refused_before_allocating_them()
    {
        // 24 doublings: one token of 16 MiB from 200 bytes of metadata.
        var merges = string.Join(",", Enumerable.Range(0, 24).Select(i => i == 0 ? "[97,97]" : $"[{255 + i},{255 + i}]"));
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var message = Assert.Throws<FormatException>(() => Bpe.FromMetadata($$"""{"type":"byte_bpe","merges":[{{merges}}]}""")).Message;

        Assert.Contains("its tokens up to merge 21 spell more than 8388608 bytes in all", message);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 1 << 20);
    }

    [Fact]
    public void Metadata_that_is_not_json_is_refused_in_one_line_whatever_text_it_holds()
    {
        var message = Assert.Throws<FormatException>(() => Bpe.FromMetadata("{\"type\":\"byte_bpe\",\n\"merges\":[[1,2]\n,tru\ne]}")).Message;

        Assert.Equal("The tokenizer metadata is malformed: it is not valid JSON (at line 3, byte 5).", message);
    }

    [Theory]
    [InlineData("""{"type":"\ud800","merges":[]}""")]
    [InlineData("""{"\udc00":1}""")]
    public void Metadata_escaping_half_a_surrogate_pair_is_refused_with_a_format_exception(string metadata)
    {
        var message = Assert.Throws<FormatException>(() => Bpe.FromMetadata(metadata)).Message;

        Assert.Contains("not valid text", message);
    }

    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("merges", "not valid JSON")]
    [InlineData("""{"type":"byte_bpe","merges":[[97,98]]""", "not valid JSON")]
    [InlineData("[]", "a JSON object")]
    [InlineData("""{"merges":[]}""", "\"type\"")]
    [InlineData("""{"type":"regex_bpe","merges":[]}""", "regex_bpe")]
    [InlineData("""{"type":"byte_bpe"}""", "\"merges\"")]
    [InlineData("""{"type":"byte_bpe","merges":{}}""", "\"merges\"")]
    [InlineData("""{"type":"byte_bpe","merges":[],"extra":1}""", "extra")]
    [InlineData("""{"type":"byte_bpe","merges":[[97]]}""", "merge 0")]
    [InlineData("""{"type":"byte_bpe","merges":[[97,98],[97,98,99]]}""", "merge 1")]
    [InlineData("""{"type":"byte_bpe","merges":[["a","b"]]}""", "merge 0")]
    [InlineData("""{"type":"byte_bpe","merges":[[97,1.5]]}""", "merge 0")]
    [InlineData("""{"type":"byte_bpe","merges":[[-1,98]]}""", "token -1")]
    [InlineData("""{"type":"byte_bpe","merges":[[97,256]]}""", "token 256, which is not defined before it")]
    [InlineData("""{"type":"byte_bpe","merges":[[97,98],[256,257]]}""", "token 257, which is not defined before it")]
    [InlineData("""{"type":"byte_bpe","merges":[[97,98],[97,98]]}""", "repeats")]
    public void Malformed_metadata_is_refused_with_a_format_exception(string metadata, string expectedInMessage)
    {
        var message = Assert.Throws<FormatException>(() => Bpe.FromMetadata(metadata)).Message;

        Assert.Contains(expectedInMessage, message);
    }

    private static void AssertTrainsLikeTheNaiveTrainer(byte[] text, int vocabSize)
    {
        var expected = NaiveBpe.Train(text, vocabSize);

        var bpe = Bpe.Train(text, vocabSize);

        Assert.Equal(expected, bpe.Merges);
        Assert.Equal(256 + expected.Count, bpe.VocabSize);
        AssertEncodesLikeTheNaiveEncoder(bpe, text);
    }

    private static void AssertEncodesLikeTheNaiveEncoder(Bpe bpe, byte[] text)
    {
        var expected = NaiveBpe.Encode(text, bpe.Merges);

        var tokens = bpe.Encode(text);

        Assert.Equal(expected, tokens.Select(token => (int)token));
        Assert.Equal(text, tokens.SelectMany(token => bpe.TokenBytes(token).ToArray()));
    }

    private static byte[] RandomBytes(Random random, int length, int alphabetSize)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)random.Next(alphabetSize);
        }
        return bytes;
    }

    /// <summary>Words, some of them non-ASCII, drawn at random: enough repetition for merges to matter.</summary>
    private static string SampleText(int seed, int length)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        while (text.Length < length)
        {
            text.Append(Words[random.Next(Words.Length)]).Append(random.Next(4) == 0 ? "" : " ");
        }
        return text.ToString();
    }

    /// <summary>Unicode scalar values from ASCII, Latin, combining marks, Greek, CJK, Hangul and emoji (surrogate pairs in UTF-16).</summary>
    private static string RandomUnicode(Random random, int length)
    {
        (int First, int Last)[] ranges =
        [
            (0x20, 0x7E), (0x0A, 0x0A), (0xC0, 0x17F), (0x300, 0x36F), (0x391, 0x3C9),
            (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF), (0x200D, 0x200D), (0xFE0F, 0xFE0F), (0x10000, 0x10FFFF),
        ];
        var text = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var (first, last) = ranges[random.Next(ranges.Length)];
            text.Append(char.ConvertFromUtf32(random.Next(first, last + 1)));
        }
        return text.ToString();
    }

    /// <summary>Merges of distinct byte pairs (0, 0), (0, 1) … : each new token is two bytes.</summary>
    private static string MetadataOfBytePairs(int count)
    {
        var text = new StringBuilder("""{"type":"byte_bpe","merges":[""");
        for (var i = 0; i < count; i++)
        {
            text.Append(i == 0 ? "" : ",").Append('[').Append(i / 256).Append(',').Append(i % 256).Append(']');
        }
        return text.Append("]}").ToString();
    }
}
