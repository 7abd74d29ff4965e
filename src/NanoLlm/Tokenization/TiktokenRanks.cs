using System.Globalization;
using System.Text;

namespace NanoLlm.Tokenization;

/// <summary>
/// Reads tiktoken's ranks format: one token per line, its bytes in base64, a space, its rank (which is its id). Also
/// the compact form the Microsoft.ML.Tokenizers.Data packages ship: a <c>Capacity: N</c> line, then the base64 of
/// each token alone, ranks counting from 0. Refuses anything else with the line: a bad base64 or rank, a rank or a
/// spelling given twice, a rank beyond the number of tokens listed (ranks run from 0 without gaps, as tiktoken's
/// files do).
/// </summary>
internal static class TiktokenRanks
{
    // Far above the largest vocabulary in use (o200k_base: 199 998 ranks), low enough to refuse a corrupt number.
    private const int MaxRank = 1 << 24;

    private const string CompactHeader = "Capacity: ";

    public static ByteSequenceTable Read(Stream stream, string origin)
    {
        var entries = new List<(int Rank, byte[] Bytes, int Line)>();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lineNumber = 0;
        var compact = false;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (lineNumber == 1 && line.StartsWith(CompactHeader, StringComparison.Ordinal))
            {
                compact = true;
                continue;
            }
            if (line.Length == 0)
            {
                continue;
            }
            var space = compact ? line.Length : line.IndexOf(' ', StringComparison.Ordinal);
            var rank = entries.Count;
            if (compact ? space == 0 : space <= 0 || !int.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out rank) || rank >= MaxRank)
            {
                throw new FormatException($"{origin}:{lineNumber}: expected a base64 token, a space and a rank below {MaxRank}, found {TokenQuoting.Quote(line)}");
            }
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(line[..space]);
            }
            catch (FormatException)
            {
                throw new FormatException($"{origin}:{lineNumber}: {TokenQuoting.Quote(line[..space])} is not base64");
            }
            if (bytes.Length == 0)
            {
                throw new FormatException($"{origin}:{lineNumber}: the token is empty");
            }
            entries.Add((rank, bytes, lineNumber));
        }
        if (entries.Count == 0)
        {
            throw new FormatException($"{origin}: holds no ranks");
        }
        // Ranks run from 0 to the count less one: the table is sized by the lines read, never by a number in the file.
        var spellings = new byte[]?[entries.Count];
        foreach (var (rank, bytes, line) in entries)
        {
            if (rank >= entries.Count)
            {
                throw new FormatException($"{origin}:{line}: rank {rank} is beyond the {entries.Count} tokens the file lists: ranks run from 0 to {entries.Count - 1}");
            }
            if (spellings[rank] is not null)
            {
                throw new FormatException($"{origin}:{line}: rank {rank} is given twice");
            }
            spellings[rank] = bytes;
        }
        try
        {
            return new ByteSequenceTable(spellings);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{origin}: {e.Message}", e);
        }
    }

    /// <summary>The table in the same format, ranks in ascending order.</summary>
    public static string Write(ByteSequenceTable ranks)
    {
        var text = new StringBuilder();
        for (var id = 0; id < ranks.IdCount; id++)
        {
            var spelling = ranks.Spelling(id);
            if (!spelling.IsEmpty)
            {
                text.Append(Convert.ToBase64String(spelling)).Append(' ').Append(id.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        return text.ToString();
    }

}
