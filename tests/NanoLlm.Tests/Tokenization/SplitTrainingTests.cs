using System.Text;
using CsCheck;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Tokenization;

public sealed class SplitTrainingTests
{
    [Theory]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.Gpt4)]
    [InlineData(SplitPattern.O200k)]
    public void Training_inside_pieces_matches_the_naive_recount_trainer_on_random_corpora(SplitPattern split)
    {
        // Few distinct atoms, many repeats: pieces recur, so counting each distinct piece once with its count matters.
        var corpora = SplitPatternSamples.Text.Array[1, 30].Select(texts => string.Join(" ", texts));

        corpora.Sample(text =>
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var pieces = PreTokenizer.Pieces(bytes, split).Select(p => bytes.AsSpan(p.Start, p.Length).ToArray());

            var tokenizer = Tokenizer.Train(bytes, 256 + 60, split);

            Assert.Equal(NaiveBpe.TrainOnPieces(pieces, 256 + 60), tokenizer.Merges);
        }, iter: 300, threads: 1);
    }

    [Fact]
    public void Merges_never_cross_a_piece_boundary()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("ab ab. ", 50)));

        var tokenizer = Tokenizer.Train(text, 300, SplitPattern.Gpt2);

        Assert.All(Enumerable.Range(256, tokenizer.VocabSize - 256), token =>
            Assert.DoesNotContain(Encoding.UTF8.GetString(tokenizer.TokenBytes(token)), (string[])["b ", "b.", ". "]));
        Assert.Contains(" ab", Enumerable.Range(256, tokenizer.VocabSize - 256).Select(t => Encoding.UTF8.GetString(tokenizer.TokenBytes(t))));
    }

    [Fact]
    public void Special_tokens_are_cut_out_of_the_training_text()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<|x|>", 40)) + "ab ab");

        var tokenizer = Tokenizer.Train(text, 260, SplitPattern.Gpt2, ["<|x|>"]);

        // Without the special token's spelling, "ab" twice is all there is to learn: ' a', then ' ab'... only (a, b) and ( , a).
        Assert.Equal(new SpecialToken("<|x|>", tokenizer.VocabSize - 1), Assert.Single(tokenizer.SpecialTokens));
        Assert.All(Enumerable.Range(256, tokenizer.Merges.Count), token => Assert.True(tokenizer.TokenBytes(token).IndexOf("|"u8) < 0));
    }

    [Theory]
    [InlineData(SplitPattern.None)]
    [InlineData(SplitPattern.Gpt2)]
    [InlineData(SplitPattern.O200k)]
    public void Trained_tokenizers_encode_then_decode_any_text(SplitPattern split)
    {
        var tokenizer = Tokenizer.Train(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("the king's men, 1234 cafés 🙂 ", 30))), 400, split);

        // A lone surrogate has no UTF-8: it comes back as U+FFFD, as UTF-8 encoding makes it.
        SplitPatternSamples.Text.Sample(
            text => Assert.Equal(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)), tokenizer.Decode(tokenizer.Encode(text))),
            iter: 3000,
            threads: 1);
    }

    [Fact]
    public void Encoding_with_learned_merges_inside_pieces_matches_the_naive_encoder_piece_by_piece()
    {
        var training = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("aaa abab, aaaa bbb! the thee ", 40)));
        var tokenizer = Tokenizer.Train(training, 320, SplitPattern.Gpt2);
        var text = Encoding.UTF8.GetBytes("aaaaaaa ababab thee!! bbbb aaa");

        var expected = PreTokenizer.Pieces(text, SplitPattern.Gpt2).SelectMany(p => NaiveBpe.Encode(text.AsSpan(p.Start, p.Length), tokenizer.Merges));

        Assert.Equal(expected, tokenizer.Encode(text));
    }
}
