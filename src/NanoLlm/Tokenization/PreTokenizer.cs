using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace NanoLlm.Tokenization;

/// <summary>
/// The split patterns as hand-written scanners over UTF-8: each method returns where the piece that starts at a
/// position ends, exactly as the pattern's regular expression (first alternative that matches, each greedy with
/// backtracking) would, over Unicode code points. Bytes that are not valid UTF-8 count as one "other" character per
/// invalid sequence, the class U+FFFD has.
/// </summary>
internal static class PreTokenizer
{
    // Character classes as bits. Every character has exactly one of Letter, Number, Space, Other; marks are Other
    // (they are not \p{L}) and, for o200k's word classes, both Upper ([\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]) and
    // Lower ([\p{Ll}\p{Lm}\p{Lo}\p{M}]). The end of the text has no bit.
    private const byte Letter = 1;
    private const byte Number = 2;
    private const byte Space = 4;
    private const byte Newline = 8;
    private const byte Other = 16;
    private const byte Upper = 32;
    private const byte Lower = 64;

    // Classes of the Basic Multilingual Plane, one byte each, filled once; the other planes ask CharUnicodeInfo.
    private static readonly byte[] BmpClasses = BuildBmpClasses();

    /// <summary>Where the piece starting at <paramref name="start"/> (which is before the end) ends.</summary>
    public static int PieceEnd(ReadOnlySpan<byte> text, int start, SplitPattern pattern) => pattern switch
    {
        SplitPattern.Gpt2 => Gpt2PieceEnd(text, start),
        SplitPattern.Gpt4 => Gpt4PieceEnd(text, start),
        SplitPattern.O200k => O200kPieceEnd(text, start),
        _ => text.Length,
    };

    /// <summary>The pieces of <paramref name="text"/> as (start, length) pairs, in order.</summary>
    public static List<(int Start, int Length)> Pieces(ReadOnlySpan<byte> text, SplitPattern pattern)
    {
        var pieces = new List<(int, int)>();
        for (var start = 0; start < text.Length;)
        {
            var end = PieceEnd(text, start, pattern);
            pieces.Add((start, end - start));
            start = end;
        }
        return pieces;
    }

    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    private static int Gpt2PieceEnd(ReadOnlySpan<byte> text, int i)
    {
        if (text[i] == '\'')
        {
            var contraction = ContractionLength(text, i, ignoreCase: false);
            if (contraction > 0)
            {
                return i + contraction;
            }
        }
        var c = ClassAt(text, i, out var length);
        if (text[i] == ' ')
        {
            var next = ClassAt(text, i + 1, out var nextLength);
            if ((next & (Letter | Number | Other)) != 0)
            {
                return RunEnd(text, i + 1 + nextLength, (byte)(next & (Letter | Number | Other)));
            }
        }
        if ((c & (Letter | Number | Other)) != 0)
        {
            return RunEnd(text, i + length, (byte)(c & (Letter | Number | Other)));
        }
        return SpaceEnd(text, i, newlines: false);
    }

    // '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+
    private static int Gpt4PieceEnd(ReadOnlySpan<byte> text, int i)
    {
        if (text[i] == '\'')
        {
            var contraction = ContractionLength(text, i, ignoreCase: true);
            if (contraction > 0)
            {
                return i + contraction;
            }
        }
        var c = ClassAt(text, i, out var length);
        if ((c & Letter) != 0)
        {
            return RunEnd(text, i + length, Letter);
        }
        if ((c & (Newline | Number)) == 0)
        {
            // The one-character prefix is possessive, but giving it back could not help: it is not a letter.
            var next = ClassAt(text, i + length, out var nextLength);
            if ((next & Letter) != 0)
            {
                return RunEnd(text, i + length + nextLength, Letter);
            }
        }
        if ((c & Number) != 0)
        {
            return DigitsEnd(text, i + length);
        }
        if (text[i] == ' ')
        {
            var next = ClassAt(text, i + 1, out var nextLength);
            if ((next & Other) != 0)
            {
                return NewlinesEnd(text, RunEnd(text, i + 1 + nextLength, Other), slash: false);
            }
        }
        if ((c & Other) != 0)
        {
            return NewlinesEnd(text, RunEnd(text, i + length, Other), slash: false);
        }
        return SpaceEnd(text, i, newlines: true);
    }

    // [^\r\n\p{L}\p{N}]?[Upper]*[Lower]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[Upper]+[Lower]*(?i:…)?
    // |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
    private static int O200kPieceEnd(ReadOnlySpan<byte> text, int i)
    {
        var c = ClassAt(text, i, out var length);
        var canPrefix = (c & (Newline | Letter | Number)) == 0;
        // Each word alternative is tried with the optional prefix taken first, then without it.
        var end = canPrefix ? UpperLowerWordEnd(text, i + length) : -1;
        if (end < 0)
        {
            end = UpperLowerWordEnd(text, i);
        }
        if (end < 0 && canPrefix)
        {
            end = UpperWordEnd(text, i + length);
        }
        if (end < 0)
        {
            end = UpperWordEnd(text, i);
        }
        if (end >= 0)
        {
            return end + ContractionLength(text, end, ignoreCase: true);
        }
        if ((c & Number) != 0)
        {
            return DigitsEnd(text, i + length);
        }
        if (text[i] == ' ')
        {
            var next = ClassAt(text, i + 1, out var nextLength);
            if ((next & Other) != 0)
            {
                return NewlinesEnd(text, RunEnd(text, i + 1 + nextLength, Other), slash: true);
            }
        }
        if ((c & Other) != 0)
        {
            return NewlinesEnd(text, RunEnd(text, i + length, Other), slash: true);
        }
        return SpaceEnd(text, i, newlines: true);
    }

    /// <summary>
    /// <c>[Upper]*[Lower]+</c> from <paramref name="i"/>, or −1. The upper run is greedy and gives back characters until
    /// a lower one can start: the one right after the run (then the lower run goes on from it), else the last
    /// character of the run that is also lower (Lm, Lo or a mark), which then ends the match.
    /// </summary>
    private static int UpperLowerWordEnd(ReadOnlySpan<byte> text, int i)
    {
        var lastLowerEnd = -1;
        var position = i;
        while (true)
        {
            var c = ClassAt(text, position, out var length);
            if ((c & Upper) == 0)
            {
                return (c & Lower) != 0 ? RunEnd(text, position + length, Lower) : lastLowerEnd;
            }
            position += length;
            if ((c & Lower) != 0)
            {
                lastLowerEnd = position;
            }
        }
    }

    /// <summary><c>[Upper]+[Lower]*</c> from <paramref name="i"/>, or −1.</summary>
    private static int UpperWordEnd(ReadOnlySpan<byte> text, int i)
    {
        var c = ClassAt(text, i, out var length);
        return (c & Upper) == 0 ? -1 : RunEnd(text, RunEnd(text, i + length, Upper), Lower);
    }

    /// <summary>
    /// Whitespace from <paramref name="i"/>: with <paramref name="newlines"/>, up to the run's last \r or \n when it has
    /// one (<c>\s*[\r\n]</c>); else the whole run at the end of the text, all but its last character before a
    /// non-space (<c>\s+(?!\S)</c>), or the one character (<c>\s+</c>).
    /// </summary>
    private static int SpaceEnd(ReadOnlySpan<byte> text, int i, bool newlines)
    {
        var lastStart = i;
        var lastNewlineEnd = -1;
        var position = i;
        while (true)
        {
            var c = ClassAt(text, position, out var length);
            if ((c & Space) == 0)
            {
                break;
            }
            lastStart = position;
            position += length;
            if ((c & Newline) != 0)
            {
                lastNewlineEnd = position;
            }
        }
        if (newlines && lastNewlineEnd >= 0)
        {
            return lastNewlineEnd;
        }
        if (position == text.Length || lastStart == i)
        {
            return position;
        }
        return lastStart;
    }

    /// <summary>Where the run of characters having any bit of <paramref name="classes"/> from <paramref name="i"/> ends.</summary>
    private static int RunEnd(ReadOnlySpan<byte> text, int i, byte classes)
    {
        while (true)
        {
            var c = ClassAt(text, i, out var length);
            if ((c & classes) == 0)
            {
                return i;
            }
            i += length;
        }
    }

    /// <summary>Up to two more digits after the first (<c>\p{N}{1,3}</c>).</summary>
    private static int DigitsEnd(ReadOnlySpan<byte> text, int i)
    {
        for (var more = 0; more < 2; more++)
        {
            var c = ClassAt(text, i, out var length);
            if ((c & Number) == 0)
            {
                break;
            }
            i += length;
        }
        return i;
    }

    /// <summary><c>[\r\n]*</c>, or <c>[\r\n/]*</c> with <paramref name="slash"/>.</summary>
    private static int NewlinesEnd(ReadOnlySpan<byte> text, int i, bool slash)
    {
        while (i < text.Length && (text[i] is (byte)'\r' or (byte)'\n' || (slash && text[i] == '/')))
        {
            i++;
        }
        return i;
    }

    /// <summary>
    /// The length in bytes of <c>'s|'t|'re|'ve|'m|'ll|'d</c> at <paramref name="i"/>, or 0. Ignoring case follows
    /// Unicode's simple case folding, under which ſ (U+017F, long s) is an s.
    /// </summary>
    private static int ContractionLength(ReadOnlySpan<byte> text, int i, bool ignoreCase)
    {
        if (i + 1 >= text.Length || text[i] != '\'')
        {
            return 0;
        }
        var first = Fold(text[i + 1], ignoreCase);
        if (first is (byte)'s' or (byte)'t' or (byte)'m' or (byte)'d')
        {
            return 2;
        }
        if (ignoreCase && text[i + 1] == 0xC5 && i + 2 < text.Length && text[i + 2] == 0xBF)
        {
            return 3;
        }
        if (i + 2 >= text.Length)
        {
            return 0;
        }
        var second = Fold(text[i + 2], ignoreCase);
        return (first, second) is ((byte)'r', (byte)'e') or ((byte)'v', (byte)'e') or ((byte)'l', (byte)'l') ? 3 : 0;
    }

    private static byte Fold(byte b, bool ignoreCase) => ignoreCase && b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte ClassAt(ReadOnlySpan<byte> text, int i, out int length)
    {
        if ((uint)i >= (uint)text.Length)
        {
            length = 0;
            return 0;
        }
        var b = text[i];
        if (b < 0x80)
        {
            length = 1;
            return BmpClasses[b];
        }
        return NonAsciiClassAt(text[i..], out length);
    }

    private static byte NonAsciiClassAt(ReadOnlySpan<byte> text, out int length)
    {
        if (Rune.DecodeFromUtf8(text, out var rune, out length) != OperationStatus.Done)
        {
            return Other;
        }
        return rune.Value < BmpClasses.Length ? BmpClasses[rune.Value] : ClassOf(rune.Value);
    }

    private static byte[] BuildBmpClasses()
    {
        var classes = new byte[0x10000];
        for (var codePoint = 0; codePoint < classes.Length; codePoint++)
        {
            // Surrogates never reach the table from valid UTF-8; they are Other, as U+FFFD is.
            classes[codePoint] = ClassOf(codePoint);
        }
        return classes;
    }

    private static byte ClassOf(int codePoint)
    {
        if (codePoint is '\r' or '\n')
        {
            return Space | Newline;
        }
        // Unicode's White_Space property, which both \s of .NET and of Rust's regex follow.
        if (codePoint is >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or >= 0x2000 and <= 0x200A or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000)
        {
            return Space;
        }
        return CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter => Letter | Upper,
            UnicodeCategory.LowercaseLetter => Letter | Lower,
            UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter | Upper | Lower,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => Other | Upper | Lower,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => Other,
        };
    }
}
