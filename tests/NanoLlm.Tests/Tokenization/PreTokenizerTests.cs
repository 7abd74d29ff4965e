using System.Text;
using CsCheck;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Tokenization;

public sealed class PreTokenizerTests
{
    [Theory]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.Gpt4)]
    [InlineData(SplitPattern.O200k)]
    public void Pieces_are_those_of_the_published_regular_expression_on_random_text(SplitPattern pattern)
    {
        var regex = SplitPatternSamples.RegexOf(pattern);

        SplitPatternSamples.Text.Sample(
            text => Assert.Equal(SplitPatternSamples.RegexPieces(regex, text), SplitPatternSamples.ScannerPieces(text, pattern)),
            iter: 30_000, threads: 1);
    }

    [Theory]
    [InlineData(SplitPattern.Gpt2, "Hello world", new[] { "Hello", " world" })]
    [InlineData(SplitPattern.Gpt2, "I'm  here\n\n", new[] { "I", "'m", " ", " here", "\n\n" })]
    [InlineData(SplitPattern.Gpt2, "I'M 12345 ok?!", new[] { "I", "'", "M", " 12345", " ok", "?!" })]
    [InlineData(SplitPattern.Gpt4, "I'M 12345 ok?!\r\n", new[] { "I", "'M", " ", "123", "45", " ok", "?!\r\n" })]
    [InlineData(SplitPattern.Gpt4, "  \n\n  x", new[] { "  \n\n", " ", " x" })]
    [InlineData(SplitPattern.Gpt4, "e\u0301t", new[] { "e", "\u0301t" })]
    [InlineData(SplitPattern.Gpt4, "🙂ok x 𝟙𝟚𝟛𝟜 🙂ok", new[] { "🙂ok", " x", " ", "𝟙𝟚𝟛", "𝟜", " 🙂", "ok" })]
    [InlineData(SplitPattern.O200k, "HTTPServer camelCase I'M", new[] { "HTTPServer", " camel", "Case", " I'M" })]
    [InlineData(SplitPattern.O200k, "a/b//\n", new[] { "a", "/b", "//\n" })]
    [InlineData(SplitPattern.O200k, "e\u0301t \u0301", new[] { "e\u0301t", " \u0301" })]
    public void Known_texts_split_as_the_reference_does(SplitPattern pattern, string text, string[] expected)
    {
        Assert.Equal(expected, SplitPatternSamples.ScannerPieces(text, pattern));
        Assert.Equal(expected, SplitPatternSamples.RegexPieces(SplitPatternSamples.RegexOf(pattern), text));
        Assert.Equal(expected, NanoLlm.Tokenization.Tokenizer.Pretrained(pattern switch { SplitPattern.Gpt2 => "gpt2", SplitPattern.Gpt4 => "cl100k_base", _ => "o200k_base" }).SplitIntoPieces(text));
    }

    [Theory]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.Gpt4)]
    [InlineData(SplitPattern.O200k)]
    public void Letters_beyond_the_basic_plane_are_letters_as_tiktoken_sees_code_points(SplitPattern pattern)
    {
        // 𝐀𝐁 are Lu, 𠀀 is Lo (CJK Extension B): one word with the space before it, as in tiktoken.
        Assert.Equal(["a", " 𝐀𝐁𠀀"], SplitPatternSamples.ScannerPieces("a 𝐀𝐁𠀀", pattern));
    }

    [Theory]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.Gpt4)]
    [InlineData(SplitPattern.O200k)]
    public void A_lone_surrogate_splits_as_the_replacement_character_it_becomes(SplitPattern pattern)
    {
        var regex = SplitPatternSamples.RegexOf(pattern);

        Assert.Equal(
            SplitPatternSamples.RegexPieces(regex, "ab \uFFFD\uFFFDcd \uFFFD"),
            SplitPatternSamples.ScannerPieces("ab \uD800\uD800cd \uD83D", pattern));
    }

    [Theory]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.Gpt4)]
    [InlineData(SplitPattern.O200k)]
    public void Pieces_cover_invalid_utf8_without_gaps(SplitPattern pattern)
    {
        byte[] bytes = [(byte)'a', 0xFF, 0xC3, (byte)' ', 0xE2, 0x82, (byte)'b', 0x80, 0x80, (byte)'\n'];

        var pieces = PreTokenizer.Pieces(bytes, pattern);

        Assert.Equal(bytes.Length, pieces.Sum(p => p.Length));
        Assert.All(pieces.Zip(pieces.Skip(1)), pair => Assert.Equal(pair.First.Start + pair.First.Length, pair.Second.Start));
    }

    [Fact]
    public void Without_a_split_the_whole_text_is_one_piece()
    {
        Assert.Equal([(0, 11)], PreTokenizer.Pieces(Encoding.UTF8.GetBytes("Hello world"), SplitPattern.None));
    }
}
