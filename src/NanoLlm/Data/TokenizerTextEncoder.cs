using NanoLlm.Tokenization;

namespace NanoLlm.Data;

/// <summary>
/// A run's tokenizer as a shard encoder. Documents are encoded as ordinary text (a special token's spelling inside one
/// is text, as llm.c and tiktoken's <c>encode_ordinary</c> treat it); the end-of-text token, when the tokenizer has one,
/// is put between them by the preparer.
/// </summary>
public sealed class TokenizerTextEncoder(Tokenizer tokenizer) : ITextEncoder
{
    public int VocabSize => tokenizer.VocabSize;

    public int? EndOfTextToken => tokenizer.EndOfText;

    public string Metadata { get; } = tokenizer.ToMetadata();

    public int TokenByteLength(int token) => tokenizer.TokenBytes(token).Length;

    public int Encode(ReadOnlySpan<byte> text, Span<int> tokens) => tokenizer.Encode(text, tokens, SpecialTokenHandling.AsText);
}
