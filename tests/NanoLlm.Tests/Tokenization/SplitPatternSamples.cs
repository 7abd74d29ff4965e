using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Tokenization;

/// <summary>
/// The published split patterns as System.Text.RegularExpressions, and generators of text that stress them. .NET's
/// regular expressions see UTF-16 code units where tiktoken's see code points (an emoji is two "other" characters to
/// .NET, one to tiktoken), so the reference runs on a stand-in text where each code point beyond the Basic
/// Multilingual Plane is replaced by one of the plane with the same Unicode category, and its matches are mapped
/// back; a lone surrogate is U+FFFD, as tiktoken makes it.
/// </summary>
internal static class SplitPatternSamples
{
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    // tiktoken's cl100k_base pattern with its possessive quantifiers written as atomic groups, which .NET has, and
    // (?i:…) spelled out as the simple case folding Rust's regex applies, where ſ (U+017F) is an s (.NET's is not).
    public const string Gpt4 = @"'(?:[sSſdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|(?>[^\r\n\p{L}\p{N}]?)\p{L}+|\p{N}{1,3}| ?(?>[^\s\p{L}\p{N}]+)[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+";

    private const string Contraction = "(?:'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    public const string O200k =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+" + Contraction + "?"
        + @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*" + Contraction + "?"
        + @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Characters of every class the patterns tell apart: ASCII letters, digits and punctuation, the apostrophe and
    /// contraction letters (and ſ, an s under case folding), each kind of whitespace, upper/lower/title-case, modifier
    /// and other letters, combining marks, numbers that are not digits, CJK, symbols, emoji as surrogate pairs.
    /// </summary>
    private static readonly string[] Atoms =
    [
        "a", "Z", "s", "S", "t", "T", "d", "m", "l", "L", "v", "e", "r", "R", "x", "ſ", "'", "'", "'", "0", "7", "1234",
        " ", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u0085", "\u00A0", "\u1680", "\u2003", "\u2028", "\u3000", "\u001C",
        ".", ",", "!", "/", "-", "$", "(", "\"", "é", "É", "ß", "Σ", "σ", "ǅ", "ʰ", "ª", "中", "文", "日本", "あ", "한",
        "\u0301", "\u0300", "\u0903", "\u20DD", "½", "Ⅻ", "٣", "२", "€", "©", "\u00AD", "\u200D", "\uFE0F", "\uFFFD",
        "🙂", "👍🏽", "🇫🇷", "𝐀", "𝐚", "𠀀", "𝟙", "𐍁", "\U0001D167", "\uD800", "\uDFFF", "\0", "\u007F", "Hello", " world", "don't", "I'M", "we'RE", "HTTPServer", "camelCase",
    ];

    /// <summary>Strings of 0 to 40 atoms: shrinking keeps the atoms whole, so a counterexample stays readable.</summary>
    public static Gen<string> Text { get; } = Gen.OneOf(Atoms).Array[0, 40].Select(string.Concat);

    public static Regex RegexOf(SplitPattern pattern) => new(
        pattern switch { SplitPattern.Gpt2 => Gpt2, SplitPattern.Gpt4 => Gpt4, _ => O200k },
        RegexOptions.CultureInvariant);

    public static List<string> RegexPieces(Regex regex, string text)
    {
        var codePoints = text.EnumerateRunes().ToArray();
        var standIn = string.Concat(codePoints.Select(rune => rune.IsBmp ? rune.ToString() : StandIn(rune).ToString()));
        return [.. regex.Matches(standIn).Select(m => string.Concat(codePoints.AsSpan(m.Index, m.Length).ToArray().Select(r => r.ToString())))];
    }

    /// <summary>A character of the Basic Multilingual Plane in the same category as <paramref name="rune"/>.</summary>
    private static char StandIn(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter => 'A',
        UnicodeCategory.LowercaseLetter => 'a',
        UnicodeCategory.TitlecaseLetter => 'ǅ',
        UnicodeCategory.ModifierLetter => 'ʰ',
        UnicodeCategory.OtherLetter => '中',
        UnicodeCategory.NonSpacingMark => '\u0301',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '7',
        UnicodeCategory.LetterNumber => 'Ⅻ',
        UnicodeCategory.OtherNumber => '½',
        _ => '©',
    };

    public static List<string> ScannerPieces(string text, SplitPattern pattern)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        return [.. PreTokenizer.Pieces(utf8, pattern).Select(p => Encoding.UTF8.GetString(utf8, p.Start, p.Length))];
    }
}
