namespace NanoLlm.Data;

/// <summary>
/// What preparing token shards needs of a tokenizer, and nothing more: any tokenizer that can encode a piece of text
/// on several threads at once, and say its vocabulary size, its end-of-text token and how many text bytes each token
/// stands for, can be prepared with.
/// </summary>
public interface ITextEncoder
{
    int VocabSize { get; }

    /// <summary>The token put before each document (GPT-2's <c>&lt;|endoftext|&gt;</c>); null when the tokenizer has none.</summary>
    int? EndOfTextToken { get; }

    /// <summary>The tokenizer's own description (a weights file's tokenizer metadata); shard headers record its fingerprint.</summary>
    string Metadata { get; }

    /// <summary>Bytes of text <paramref name="token"/> stands for: 0 for a special token such as end-of-text.</summary>
    int TokenByteLength(int token);

    /// <summary>
    /// Writes the tokens of <paramref name="text"/> (UTF-8, a document or a stretch of one ending at a line end) into
    /// <paramref name="tokens"/>, which has room for one token per byte, and returns how many it wrote. Thread-safe.
    /// </summary>
    int Encode(ReadOnlySpan<byte> text, Span<int> tokens);
}
