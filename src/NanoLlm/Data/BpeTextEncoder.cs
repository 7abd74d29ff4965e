using NanoLlm.Tokenization;

namespace NanoLlm.Data;

/// <summary>NanoLlm's byte-level BPE as a shard encoder: no end-of-text token, every token spells at least one byte.</summary>
public sealed class BpeTextEncoder(Bpe tokenizer) : ITextEncoder
{
    public int VocabSize => tokenizer.VocabSize;

    public int? EndOfTextToken => null;

    public string Metadata { get; } = tokenizer.ToMetadata();

    public int TokenByteLength(int token) => tokenizer.TokenBytes(token).Length;

    public int[] Encode(ReadOnlySpan<byte> text)
    {
        var tokens = tokenizer.Encode(text);
        var ids = new int[tokens.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            ids[i] = tokens[i];
        }
        return ids;
    }
}
