namespace NanoLlm.Data;

/// <summary>
/// Bytes <c>[Start, End)</c> of a text file, read as one stretch of a split's input. Each range starts a document
/// (a file, or the held-out end of one).
/// </summary>
public readonly record struct SourceRange(string File, long Start, long End)
{
    public long Length => End - Start;

    /// <summary>The whole of each file, in order.</summary>
    public static SourceRange[] Whole(IEnumerable<string> files) => [.. files.Select(f => new SourceRange(f, 0, LengthOf(f)))];

    /// <summary>The length of the file itself, through a symbolic link too (a link's own length is that of its target's name).</summary>
    public static long LengthOf(string file)
    {
        using var handle = System.IO.File.OpenHandle(file);
        return RandomAccess.GetLength(handle);
    }

    /// <summary>
    /// Cuts <paramref name="ranges"/> so that about the last <paramref name="fraction"/> of their bytes is held out:
    /// the cut falls just after the first line end at or past that point, so no line is split between the two (at that
    /// point itself, before a whole UTF-8 character, when only the range's last line end follows).
    /// </summary>
    public static (SourceRange[] Kept, SourceRange[] HeldOut) CutLast(IReadOnlyList<SourceRange> ranges, double fraction)
    {
        var total = ranges.Sum(r => r.Length);
        var cut = total - (long)(total * fraction);
        if (cut >= total)
        {
            return ([.. ranges], []);
        }
        var position = 0L;
        for (var i = 0; i < ranges.Count; i++)
        {
            var range = ranges[i];
            if (cut < position + range.Length)
            {
                var at = LineEndFrom(range, range.Start + (cut - position));
                SourceRange[] kept = [.. ranges.Take(i), .. at > range.Start ? [range with { End = at }] : Array.Empty<SourceRange>()];
                SourceRange[] heldOut = [.. at < range.End ? [range with { Start = at }] : Array.Empty<SourceRange>(), .. ranges.Skip(i + 1)];
                return (kept, heldOut);
            }
            position += range.Length;
        }
        return ([.. ranges], []);
    }

    // The position just after the first '\n' at or after `from` unless that is the range's end; else `from` moved back
    // to a character's start.
    private static long LineEndFrom(SourceRange range, long from)
    {
        using var handle = System.IO.File.OpenHandle(range.File);
        var buffer = new byte[1 << 16];
        for (var position = from; position < range.End;)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, range.End - position)), position);
            if (read == 0)
            {
                break;
            }
            var newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                if (position + newline + 1 < range.End)
                {
                    return position + newline + 1;
                }
                break;
            }
            position += read;
        }
        Span<byte> first = stackalloc byte[4];
        while (from > range.Start)
        {
            RandomAccess.Read(handle, first[..1], from);
            if ((first[0] & 0xC0) != 0x80)
            {
                break;
            }
            from--;
        }
        return from;
    }
}
