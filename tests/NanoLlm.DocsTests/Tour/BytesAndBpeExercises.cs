using NanoLlm.DocsTests.Support;
using NanoLlm.Tokenization;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/01-bytes-and-bpe.md.</summary>
public sealed class BytesAndBpeExercises
{
    [Fact]
    public void Aaabdaaabac_learns_three_merges_and_stops()
    {
        var bpe = Bpe.Train("aaabdaaabac"u8, 260);

        Assert.Equal([new TokenPair('a', 'a'), new TokenPair('a', 'b'), new TokenPair(256, 257)], bpe.Merges);
        Assert.Equal(259, bpe.VocabSize);
        Assert.Equal([258, 'd', 258, 'a', 'c'], bpe.Encode("aaabdaaabac"));
    }

    [Fact]
    public void A_512_token_tokenizer_packs_about_three_bytes_a_token()
    {
        var text = File.ReadAllBytes(Repository.PathOf("configs/corpus.txt"));

        var tokens = Bpe.Train(text, 512).Encode(text);

        Assert.Equal(4452, text.Length);
        Assert.Equal(1526, tokens.Length);
    }
}
