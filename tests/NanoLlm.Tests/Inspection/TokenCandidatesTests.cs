using NanoLlm.Inspection;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Inspection;

public sealed class TokenCandidatesTests
{
    [Fact]
    public void The_most_likely_tokens_come_first_with_their_softmax_probabilities()
    {
        var logits = new float[256];
        logits['a'] = 3f;
        logits['b'] = 1f;
        logits[' '] = 2f;
        var total = Math.Exp(3) + Math.Exp(2) + Math.Exp(1) + 253;

        var top = TokenCandidates.Top(logits, 4, Tokenizer.ByteLevel);

        Assert.Equal([(int)'a', ' ', 'b', 0], top.Select(c => c.Token));
        Assert.Equal(["a", "␣", "b", "\\x00"], top.Select(c => c.Text));
        Assert.Equal(Math.Exp(3) / total, top[0].Probability, 1e-12);
        Assert.Equal(1 / total, top[3].Probability, 1e-12);
    }

    [Fact]
    public void Asking_for_more_than_the_vocabulary_gives_every_token()
    {
        var logits = new float[256];
        logits[7] = 1f;

        var top = TokenCandidates.Top(logits, 1000, Tokenizer.ByteLevel);

        Assert.Equal(256, top.Count);
        Assert.Equal(7, top[0].Token);
        Assert.Equal(1, top.Sum(c => c.Probability), 1e-9);
    }
}
