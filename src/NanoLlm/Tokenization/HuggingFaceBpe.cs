using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace NanoLlm.Tokenization;

/// <summary>
/// Reads Hugging Face's byte-level BPE: the pair <c>vocab.json</c> (token string → id) and <c>merges.txt</c> (one merge
/// "left right" per line, in the order learned, after an optional <c>#version</c> line), or the same model inside a
/// <c>tokenizer.json</c> (<c>model.vocab</c>, <c>model.merges</c> as "left right" strings or [left, right] arrays, and
/// <c>added_tokens</c>), which must describe GPT-2's pipeline: no normalizer, the byte-level pre-tokenizer without an
/// added prefix space, plain BPE. Token strings spell bytes through GPT-2's byte-to-unicode table. The ranks are the
/// ids of the 256 byte tokens and of each merge's result; the merge order must agree with the ids (as it does for
/// GPT-2, where merge i makes token 256 + i), so encoding by lowest id is encoding by merge order. Entries no merge
/// makes, and added tokens, become special tokens.
/// </summary>
internal static class HuggingFaceBpe
{
    private const string NotGpt2Style = "NanoLlm reads GPT-2-style byte-level BPE only";

    // A merge as its file spells it, with where it was read for errors.
    private readonly record struct Merge(string Left, string Right, string Origin);

    public static (ByteSequenceTable Ranks, List<SpecialToken> Specials) Read(string vocabPath, string mergesPath)
    {
        Dictionary<string, int> idOf;
        using (var document = Parse(vocabPath))
        {
            idOf = ReadVocab(document.RootElement, vocabPath);
        }
        return Build(idOf, vocabPath, vocabPath, MergeLines(mergesPath), []);
    }

    /// <summary>The byte-level BPE model of a <c>tokenizer.json</c>; anything else is a <see cref="FormatException"/> naming the file and key.</summary>
    public static (ByteSequenceTable Ranks, List<SpecialToken> Specials) ReadTokenizerJson(string path)
    {
        using var document = Parse(path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{path}: should be a JSON object (a Hugging Face tokenizer)");
        }
        RequireNone(root, "normalizer", path);
        var preTokenizer = Required(root, "pre_tokenizer", "", path);
        RequireType(preTokenizer, "pre_tokenizer", "ByteLevel", path);
        var addPrefixSpace = Required(preTokenizer, "add_prefix_space", "pre_tokenizer.", path);
        if (addPrefixSpace.ValueKind != JsonValueKind.False)
        {
            throw Refused(path, "pre_tokenizer.add_prefix_space", addPrefixSpace, "false");
        }
        RequireAbsentOr(preTokenizer, "use_regex", "pre_tokenizer.", JsonValueKind.True, "true", path);
        foreach (var key in (string[])["post_processor", "decoder"])
        {
            if (root.TryGetProperty(key, out var step) && step.ValueKind != JsonValueKind.Null)
            {
                RequireType(step, key, "ByteLevel", path);
            }
        }

        var model = Required(root, "model", "", path);
        if (model.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{path}: model should be an object (the BPE model)");
        }
        if (model.TryGetProperty("type", out _))
        {
            RequireType(model, "model", "BPE", path);
        }
        RequireNone(model, "dropout", path, "model.");
        foreach (var key in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (model.TryGetProperty(key, out var affix) && affix.ValueKind != JsonValueKind.Null && !(affix.ValueKind == JsonValueKind.String && affix.GetString()!.Length == 0))
            {
                throw Refused(path, $"model.{key}", affix, "\"\"");
            }
        }
        RequireAbsentOr(model, "byte_fallback", "model.", JsonValueKind.False, "false", path);
        RequireAbsentOr(model, "ignore_merges", "model.", JsonValueKind.False, "false", path);
        var vocab = Required(model, "vocab", "model.", path);
        var merges = Required(model, "merges", "model.", path);
        if (merges.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{path}: model.merges should be an array of merges");
        }
        var idOf = ReadVocab(vocab, $"{path}: model.vocab");
        return Build(idOf, $"{path}: model.vocab", "model.vocab", MergeArray(merges, path), AddedTokens(root, idOf.Count, path));
    }

    // The ranks and special tokens of a vocabulary and its merges: every byte has a token, every merge joins two
    // tokens made before it into a listed token of a higher id; the entries no merge makes, and the added tokens, are
    // special.
    private static (ByteSequenceTable Ranks, List<SpecialToken> Specials) Build(
        Dictionary<string, int> idOf, string vocabOrigin, string vocabName, IEnumerable<Merge> merges, List<(string Content, int Id, string Origin)> added)
    {
        var unicodeToByte = UnicodeToByte();
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
                throw new FormatException($"{vocabOrigin}: has no token for byte {b} ({TokenQuoting.Quote(token)})");
            }
            Define(token, id, vocabOrigin);
        }
        var lastId = -1;
        foreach (var (left, right, origin) in merges)
        {
            foreach (var part in (string[])[left, right])
            {
                if (!used.Contains(part))
                {
                    throw new FormatException($"{origin}: {TokenQuoting.Quote(part)} is neither a byte nor made by an earlier merge");
                }
            }
            var merged = left + right;
            if (!idOf.TryGetValue(merged, out var mergedId))
            {
                throw new FormatException($"{origin}: the merge makes {TokenQuoting.Quote(merged)}, which {vocabName} does not list");
            }
            if (mergedId <= lastId)
            {
                throw new FormatException($"{origin}: the merge makes token {mergedId}, not above the previous merge's {lastId}: merge order and ids disagree");
            }
            lastId = mergedId;
            Define(merged, mergedId, origin);
        }
        var specials = idOf.Where(entry => !used.Contains(entry.Key)).Select(entry => new SpecialToken(entry.Key, entry.Value)).ToList();
        foreach (var (content, id, origin) in added)
        {
            if (used.Contains(content))
            {
                throw new FormatException($"{origin}: {TokenQuoting.Quote(content)} is also a token of the byte-pair vocabulary; NanoLlm's special tokens are outside it");
            }
            if (idOf.TryGetValue(content, out var listed))
            {
                if (listed != id)
                {
                    throw new FormatException($"{origin}: {TokenQuoting.Quote(content)} has id {id}, {vocabName} gives it {listed}");
                }
                continue;
            }
            specials.Add(new SpecialToken(content, id));
        }
        specials.Sort((a, b) => a.Id.CompareTo(b.Id));
        try
        {
            return (new ByteSequenceTable(spellings), specials);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{vocabOrigin}: {e.Message}", e);
        }
    }

    private static IEnumerable<Merge> MergeLines(string mergesPath)
    {
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
            yield return new Merge(parts[0], parts[1], origin);
        }
    }

    // model.merges: "left right" strings (tokenizers before 0.20) or [left, right] arrays (0.20 on).
    private static IEnumerable<Merge> MergeArray(JsonElement merges, string path)
    {
        var index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            var origin = $"{path}: model.merges[{index++}]";
            string[] parts = merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!.Split(' '),
                JsonValueKind.Array when merge.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String) => [.. merge.EnumerateArray().Select(p => p.GetString()!)],
                _ => [],
            };
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                throw new FormatException($"{origin}: expected \"left right\" or [\"left\", \"right\"], found {Describe(merge)}");
            }
            yield return new Merge(parts[0], parts[1], origin);
        }
    }

    // Added tokens take the ids after the vocabulary's (or their own in it): ids stay below the two counts together,
    // so no table is sized by a number read from the file.
    private static List<(string Content, int Id, string Origin)> AddedTokens(JsonElement root, int vocabCount, string path)
    {
        var added = new List<(string, int, string)>();
        if (!root.TryGetProperty("added_tokens", out var tokens) || tokens.ValueKind == JsonValueKind.Null)
        {
            return added;
        }
        if (tokens.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{path}: added_tokens should be an array of tokens");
        }
        var index = 0;
        foreach (var token in tokens.EnumerateArray())
        {
            var key = $"added_tokens[{index++}]";
            if (token.ValueKind != JsonValueKind.Object
                || !token.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value) || value < 0
                || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || content.GetString()!.Length == 0)
            {
                throw new FormatException($"{path}: {key}: expected an object with an id (a whole number ≥ 0) and a content (a spelling)");
            }
            if (value >= vocabCount + tokens.GetArrayLength())
            {
                throw new FormatException(
                    $"{path}: {key}: id {value} is beyond the {vocabCount + tokens.GetArrayLength()} tokens of model.vocab and added_tokens together: ids run from 0 to {vocabCount + tokens.GetArrayLength() - 1}");
            }
            foreach (var flag in (string[])["single_word", "lstrip", "rstrip"])
            {
                RequireAbsentOr(token, flag, key + ".", JsonValueKind.False, "false", path);
            }
            added.Add((content.GetString()!, value, $"{path}: {key}"));
        }
        return added;
    }

    private static JsonDocument Parse(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            // Where the JSON broke, not the reader's message: that quotes the text, which may hold line breaks.
            throw new FormatException($"{path}: not valid JSON (at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", e);
        }
        try
        {
            RequireText(document.RootElement, "", path);
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    // The JSON reader checks that a string is UTF-8, and that its \u escapes pair their surrogates, only when the
    // string is read, and then throws an InvalidOperationException, even from a lookup by name: every name and string is
    // read once here, first, so that the error names its key.
    private static void RequireText(JsonElement element, string key, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String when !IsText(element):
                throw new FormatException($"{path}: {(key.Length == 0 ? "the file" : key)} is not text: {NotText(JsonMarshal.GetRawUtf8Value(element))}");
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind is JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Object)
                    {
                        RequireText(item, $"{key}[{index}]", path);
                    }
                    index++;
                }
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsText(property))
                    {
                        // Shown as written, a byte that is not UTF-8 as U+FFFD.
                        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
                        var where = key.Length == 0 ? "" : $"{key}: ";
                        throw new FormatException($"{path}: {where}the name {TokenQuoting.Quote(Encoding.UTF8.GetString(raw))} is not text: {NotText(raw)}");
                    }
                    if (property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Object)
                    {
                        RequireText(property.Value, Member(key, property.Name), path);
                    }
                }
                break;
        }
    }

    private static bool IsText(JsonElement value)
    {
        try
        {
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool IsText(JsonProperty property)
    {
        try
        {
            _ = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string NotText(ReadOnlySpan<byte> raw) =>
        Utf8.IsValid(raw) ? "a \\u escape in it is half a surrogate pair" : "it holds bytes that are not UTF-8";

    // A key as the errors name it: model.vocab, added_tokens[0].content, or a name that is no identifier in quotes.
    private static string Member(string key, string name)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return $"{key}[{TokenQuoting.Quote(name)}]";
        }
        return key.Length == 0 ? name : $"{key}.{name}";
    }

    private static Dictionary<string, int> ReadVocab(JsonElement vocab, string origin)
    {
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{origin}: should be a JSON object of token → id");
        }
        foreach (var property in vocab.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new FormatException($"{origin}: token {TokenQuoting.Quote(property.Name)} has id {Describe(property.Value)}, not a whole number ≥ 0");
            }
            if (!idOf.TryAdd(property.Name, id))
            {
                throw new FormatException($"{origin}: token {TokenQuoting.Quote(property.Name)} is listed twice");
            }
        }
        // Ids run from 0 to the count less one; tables are sized by the count, never by a number read from the file.
        foreach (var (token, id) in idOf)
        {
            if (id >= idOf.Count)
            {
                throw new FormatException($"{origin}: token {TokenQuoting.Quote(token)} has id {id}, beyond the {idOf.Count} tokens it lists: ids run from 0 to {idOf.Count - 1}");
            }
        }
        return idOf;
    }

    private static JsonElement Required(JsonElement parent, string key, string prefix, string path) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new FormatException($"{path}: {prefix}{key} is missing: {NotGpt2Style}");

    // The key is absent or null: GPT-2's pipeline has no such step.
    private static void RequireNone(JsonElement parent, string key, string path, string prefix = "")
    {
        if (parent.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null)
        {
            throw Refused(path, prefix + key, value, "null");
        }
    }

    private static void RequireAbsentOr(JsonElement parent, string key, string prefix, JsonValueKind kind, string expected, string path)
    {
        if (parent.TryGetProperty(key, out var value) && value.ValueKind != kind)
        {
            throw Refused(path, prefix + key, value, expected);
        }
    }

    private static void RequireType(JsonElement element, string key, string type, string path)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("type", out var given) || given.ValueKind != JsonValueKind.String || given.GetString() != type)
        {
            var what = key == "model" ? "model.type" : key;
            throw Refused(path, what, element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) ? t : element, $"\"{type}\"");
        }
    }

    private static FormatException Refused(string path, string key, JsonElement found, string expected) =>
        new($"{path}: {key} is {Describe(found)}: {NotGpt2Style} ({key} {expected})");

    // A JSON value as one short line: an object by its type, a string quoted, a number or literal as written.
    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object when value.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String => TokenQuoting.Quote(type.GetString()!),
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => TokenQuoting.Quote(value.GetString()!),
        _ => value.GetRawText(),
    };

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
