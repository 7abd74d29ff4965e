using System.Globalization;
using System.Text;

namespace NanoLlm.Tokenization;

/// <summary>
/// A token or line of a vocabulary file as an error message quotes it: in double quotes, control characters and line
/// separators escaped the way JSON writes them (a token may be "\n"), cut after 40 characters, so the message stays
/// one line whatever the file holds.
/// </summary>
internal static class TokenQuoting
{
    private const int MaxCharacters = 40;

    public static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        var shown = Math.Min(text.Length, MaxCharacters);
        for (var i = 0; i < shown; i++)
        {
            var c = text[i];
            quoted.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '"' => "\\\"",
                '\\' => "\\\\",
                _ when char.IsControl(c) || c is '\u2028' or '\u2029' => "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        return quoted.Append(text.Length > MaxCharacters ? "…\"" : "\"").ToString();
    }
}
