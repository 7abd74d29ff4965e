namespace NanoLlm.Training;

/// <summary>
/// A run of tokens to train or evaluate on, with the number of text bytes each token stands for, so a loss in nats
/// per token can also be given in bits per byte (comparable across tokenizers).
/// </summary>
public sealed class TokenSplit
{
    public TokenSplit(ReadOnlyMemory<ushort> tokens, int[] bytesPerToken)
    {
        Tokens = tokens;
        BytesPerToken = bytesPerToken;
    }

    /// <summary>The split's tokens: a view of the corpus's one token array, not a copy.</summary>
    public ReadOnlyMemory<ushort> Tokens { get; }

    /// <summary>Indexed by token id: how many bytes of text that token decodes to.</summary>
    public int[] BytesPerToken { get; }

    public int Length => Tokens.Length;

    /// <summary>Splits off the last <paramref name="fraction"/> of the tokens as the validation split.</summary>
    public static (TokenSplit Train, TokenSplit Validation) Split(ushort[] tokens, int[] bytesPerToken, double fraction)
    {
        var validationLength = (int)(tokens.Length * fraction);
        var trainLength = tokens.Length - validationLength;
        return (new TokenSplit(tokens.AsMemory(0, trainLength), bytesPerToken), new TokenSplit(tokens.AsMemory(trainLength), bytesPerToken));
    }

    /// <summary>Writes window <c>[start, start+length)</c> as inputs and the window shifted by one as targets.</summary>
    public void Window(int start, Span<int> inputs, Span<int> targets)
    {
        var tokens = Tokens.Span;
        for (var t = 0; t < inputs.Length; t++)
        {
            inputs[t] = tokens[start + t];
            targets[t] = tokens[start + t + 1];
        }
    }
}
