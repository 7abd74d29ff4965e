using System.Globalization;
using System.Text;
using NanoLlm.Tokenization;

namespace NanoLlm.Inspection;

/// <summary>
/// A token as a label a reader can see: its bytes as UTF-8 text, with whitespace and control characters escaped
/// (<c>\n</c>, <c>\t</c>, <c>\r</c>, a space as <c>␣</c>, others as <c>\xNN</c>) and bytes that are not whole UTF-8
/// characters (a byte-level token can be half of one) as <c>\xNN</c>. A backslash shows as <c>\\</c>.
/// </summary>
public static class TokenText
{
    public const char VisibleSpace = '␣';

    public static string Show(Tokenizer tokenizer, int token) => Escape(tokenizer.TokenBytes(token));

    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                AppendByte(text, bytes[0]);
                bytes = bytes[1..];
                continue;
            }
            _ = rune.Value switch
            {
                '\n' => text.Append("\\n"),
                '\t' => text.Append("\\t"),
                '\r' => text.Append("\\r"),
                ' ' => text.Append(VisibleSpace),
                '\\' => text.Append("\\\\"),
                _ when Rune.IsControl(rune) || Rune.IsWhiteSpace(rune) => AppendBytes(text, bytes[..consumed]),
                _ => text.Append(rune.ToString()),
            };
            bytes = bytes[consumed..];
        }
        return text.ToString();
    }

    private static StringBuilder AppendBytes(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            AppendByte(text, b);
        }
        return text;
    }

    private static StringBuilder AppendByte(StringBuilder text, byte value) =>
        text.Append("\\x").Append(value.ToString("X2", CultureInfo.InvariantCulture));
}
