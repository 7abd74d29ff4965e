using System.Text;

namespace NanoLlm.Tokenization;

/// <summary>
/// Decodes tokens one at a time into text, giving out only whole characters: a token that ends inside a UTF-8
/// character waits for the next one. What is left incomplete at the end becomes U+FFFD on <see cref="Flush"/>.
/// </summary>
public sealed class TokenTextDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private char[] _characters = new char[64];

    internal TokenTextDecoder(Tokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>The characters <paramref name="token"/> completes; empty while a character is still partial.</summary>
    public string Append(int token) => Decode(_tokenizer.TokenBytes(token), flush: false);

    /// <summary>What an unfinished character left behind, as U+FFFD; the stream then starts afresh.</summary>
    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        var needed = _decoder.GetCharCount(bytes, flush);
        if (needed > _characters.Length)
        {
            _characters = new char[needed];
        }
        var count = _decoder.GetChars(bytes, _characters, flush);
        return new string(_characters, 0, count);
    }
}
