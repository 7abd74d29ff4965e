using System.Text;
using NanoLlm.DocsTests.Support;
using NanoLlm.Tokenization;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/10-real-tokenizers.md.</summary>
public sealed class RealTokenizerExercises
{
    [Fact]
    public void Gpt2_keeps_a_number_whole_and_gpt4_cuts_it_in_threes()
    {
        Assert.Equal(["1234567"], Tokenizer.Pretrained("gpt2").SplitIntoPieces("1234567"));
        Assert.Equal(["123", "456", "7"], Tokenizer.Pretrained("cl100k_base").SplitIntoPieces("1234567"));
    }

    [Fact]
    public void With_gpt2s_split_a_space_only_ever_starts_a_token()
    {
        var text = File.ReadAllBytes(Repository.PathOf("configs/corpus.txt"));

        var unsplit = InnerSpaces(Tokenizer.Train(text, 300));
        var split = InnerSpaces(Tokenizer.Train(text, 300, SplitPattern.Gpt2));

        Assert.Equal(19, unsplit);
        Assert.Equal(0, split);
    }

    [Fact]
    public void End_of_text_is_one_id_allowed_and_ordinary_tokens_as_text()
    {
        var gpt2 = Tokenizer.Pretrained("gpt2");

        Assert.Equal([50256], gpt2.Encode(Tokenizer.EndOfTextSpelling, SpecialTokenHandling.Allow));
        Assert.Equal(["<|", "endoftext", "|>"], gpt2.SplitIntoPieces(Tokenizer.EndOfTextSpelling));
        Assert.Equal([27, 91, 437, 1659, 5239, 91, 29], gpt2.Encode(Tokenizer.EndOfTextSpelling, SpecialTokenHandling.AsText));
        Assert.Throws<ArgumentException>(() => gpt2.Encode(Tokenizer.EndOfTextSpelling));
    }

    // Learned tokens (ids 256 and up) with a space after their first byte.
    private static int InnerSpaces(Tokenizer tokenizer) =>
        Enumerable.Range(256, tokenizer.VocabSize - 256).Count(t => Encoding.UTF8.GetString(tokenizer.TokenBytes(t)).IndexOf(' ', 1) > 0);
}
