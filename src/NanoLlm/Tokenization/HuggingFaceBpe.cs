using System.Text.Json;

namespace NanoLlm.Tokenization;

/// <summary>
/// Reads a Hugging Face byte-level BPE pair: <c>vocab.json</c> (token string → id) and <c>merges.txt</c> (one merge
/// "left right" per line, in the order learned, after an optional <c>#version</c> line). Token strings spell bytes
/// through GPT-2's byte-to-unicode table. The ranks are the ids of the 256 byte tokens and of each merge's result;
/// the merge order must agree with the ids (as it does for GPT-2, where merge i makes token 256 + i), so encoding by
/// lowest id is encoding by merge order. Entries no merge makes become special tokens.
/// </summary>
internal static class HuggingFaceBpe
{
    public static (ByteSequenceTable Ranks, List<SpecialToken> Specials) Read(string vocabPath, string mergesPath)
    {
        var unicodeToByte = UnicodeToByte();
        var idOf = ReadVocab(vocabPath);
        var spellings = new List<byte[]?>();
        var used = new HashSet<string>(StringComparer.Ordinal);

        void Define(string token, int id, string origin)
        {
            while (spellings.Count <= id)
            {
                spellings.Add(null);
            }
            if (spellings[id] is not null)
            {
                throw new FormatException($"{origin}: token id {id} is made twice");
            }
            spellings[id] = Bytes(token, unicodeToByte, origin);
            used.Add(token);
        }

        foreach (var (character, b) in unicodeToByte)
        {
            var token = character.ToString();
            if (!idOf.TryGetValue(token, out var id))
            {
                throw new FormatException($"{vocabPath}: has no token for byte {b} ({TokenQuoting.Quote(token)})");
            }
            Define(token, id, vocabPath);
        }
        var lastId = -1;
        var lineNumber = 0;
        foreach (var line in File.ReadLines(mergesPath))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }
            var origin = $"{mergesPath}:{lineNumber}";
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                throw new FormatException($"{origin}: expected two tokens separated by one space, found {TokenQuoting.Quote(line)}");
            }
            foreach (var part in parts)
            {
                if (!used.Contains(part))
                {
                    throw new FormatException($"{origin}: {TokenQuoting.Quote(part)} is neither a byte nor made by an earlier merge");
                }
            }
            var merged = parts[0] + parts[1];
            if (!idOf.TryGetValue(merged, out var mergedId))
            {
                throw new FormatException($"{origin}: the merge makes {TokenQuoting.Quote(merged)}, which {vocabPath} does not list");
            }
            if (mergedId <= lastId)
            {
                throw new FormatException($"{origin}: the merge makes token {mergedId}, not above the previous merge's {lastId}: merge order and ids disagree");
            }
            lastId = mergedId;
            Define(merged, mergedId, origin);
        }
        var specials = idOf.Where(entry => !used.Contains(entry.Key)).OrderBy(entry => entry.Value)
            .Select(entry => new SpecialToken(entry.Key, entry.Value)).ToList();
        try
        {
            return (new ByteSequenceTable(spellings), specials);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{vocabPath}: {e.Message}", e);
        }
    }

    private static Dictionary<string, int> ReadVocab(string path)
    {
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"{path}: should be a JSON object of token → id");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!property.Value.TryGetInt32(out var id) || id < 0)
                {
                    throw new FormatException($"{path}: token {TokenQuoting.Quote(property.Name)} has id {property.Value.GetRawText()}, not a whole number ≥ 0");
                }
                if (!idOf.TryAdd(property.Name, id))
                {
                    throw new FormatException($"{path}: token {TokenQuoting.Quote(property.Name)} is listed twice");
                }
            }
        }
        catch (JsonException e)
        {
            // Where the JSON broke, not the reader's message: that quotes the text, which may hold line breaks.
            throw new FormatException($"{path}: not valid JSON (at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"{path}: ids must be numbers ({e.Message})", e);
        }
        // Ids run from 0 to the count less one; tables are sized by the count, never by a number read from the file.
        foreach (var (token, id) in idOf)
        {
            if (id >= idOf.Count)
            {
                throw new FormatException($"{path}: token {TokenQuoting.Quote(token)} has id {id}, beyond the {idOf.Count} tokens it lists: ids run from 0 to {idOf.Count - 1}");
            }
        }
        return idOf;
    }

    private static byte[] Bytes(string token, Dictionary<char, byte> unicodeToByte, string origin)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!unicodeToByte.TryGetValue(token[i], out bytes[i]))
            {
                throw new FormatException($"{origin}: {TokenQuoting.Quote(token)} holds U+{(int)token[i]:X4}, which stands for no byte");
            }
        }
        return bytes;
    }

    /// <summary>
    /// GPT-2's bytes_to_unicode, inverted: printable Latin-1 bytes stand for themselves, the other 68 bytes for
    /// U+0100 onwards in byte order, so every token is a string of visible characters.
    /// </summary>
    internal static Dictionary<char, byte> UnicodeToByte()
    {
        var map = new Dictionary<char, byte>(256);
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[(char)(printable ? b : next++)] = (byte)b;
        }
        return map;
    }
}
