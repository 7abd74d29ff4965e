using System.Buffers;
using System.Text;
using System.Text.Json;

namespace NanoLlm.Tokenization;

/// <summary>
/// A tokenizer as one line of JSON in a weights file's metadata, in one of three shapes:
/// <list type="bullet">
/// <item><c>{"type":"byte_bpe","merges":[[97,98],…]}</c>: learned merges, no split, no special tokens (the shape
/// every weights file had before split patterns, still written for such tokenizers so older readers keep working);</item>
/// <item><c>{"type":"bpe","split":"gpt2","merges":[…],"special_tokens":{"&lt;|endoftext|&gt;":4095}}</c>: learned merges;</item>
/// <item><c>{"type":"tiktoken","split":"gpt2","pretrained":"gpt2","sha256":"…","special_tokens":{…}}</c>: a shipped
/// vocabulary by name, with the SHA-256 of its ranks file so a different one is refused rather than silently used
/// (the ranks themselves would add 0.6 MB for gpt2, 4 MB for o200k_base to every weights file); a vocabulary read
/// from files carries its ranks instead, in tiktoken's text format: <c>"ranks":"IQ== 0\n…"</c>.</item>
/// </list>
/// </summary>
internal static class TokenizerMetadata
{
    private const string ByteBpeType = BpeMetadata.TypeName;
    private const string BpeType = "bpe";
    private const string TiktokenType = "tiktoken";

    public static string Write(Tokenizer tokenizer)
    {
        if (tokenizer.TrainedMerges is { } merges && tokenizer.Split == SplitPattern.None && tokenizer.SpecialTokens.Count == 0)
        {
            return merges.ToMetadata();
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", tokenizer.IsTrained ? BpeType : TiktokenType);
            writer.WriteString("split", SplitPatterns.Name(tokenizer.Split));
            if (tokenizer.TrainedMerges is { } learned)
            {
                BpeMetadata.WriteMerges(writer, [.. learned.Merges]);
            }
            else if (tokenizer.PretrainedName is { } name)
            {
                writer.WriteString("pretrained", name);
                writer.WriteString("sha256", PretrainedVocabularies.Get(name).Sha256);
            }
            else
            {
                writer.WriteString("ranks", TiktokenRanks.Write(tokenizer.Ranks!));
            }
            writer.WriteStartObject("special_tokens");
            foreach (var (text, id) in tokenizer.SpecialTokens)
            {
                writer.WriteNumber(text, id);
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <exception cref="FormatException">Anything <see cref="Write"/> could not have written, or a shipped vocabulary that is not the one recorded.</exception>
    public static Tokenizer Read(string metadata)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(metadata);
        }
        catch (JsonException e)
        {
            // Where the JSON broke, not the reader's message: that quotes the text, which may hold line breaks.
            throw Malformed($"it is not valid JSON (at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                // The byte-level reader gives the precise complaint for what it was the only shape of.
                return Tokenizer.FromMerges(SplitPattern.None, Bpe.FromMetadata(metadata), []);
            }
            switch (type.GetString())
            {
                case ByteBpeType:
                    return Tokenizer.FromMerges(SplitPattern.None, Bpe.FromMetadata(metadata), []);
                case BpeType:
                    Expect(root, "type", "split", "merges", "special_tokens");
                    return Tokenizer.FromMerges(Split(root), Bpe.FromMerges(BpeMetadata.ReadMerges(Property(root, "merges", JsonValueKind.Array))), Specials(root));
                case TiktokenType:
                    return ReadTiktoken(root);
                default:
                    throw Malformed($"the \"type\" property should be \"{ByteBpeType}\", \"{BpeType}\" or \"{TiktokenType}\", not {type.GetRawText()}");
            }
        }
    }

    private static Tokenizer ReadTiktoken(JsonElement root)
    {
        var split = Split(root);
        if (split == SplitPattern.None)
        {
            throw Malformed("a ranks vocabulary needs a split pattern, not \"none\"");
        }
        var specials = Specials(root);
        if (root.TryGetProperty("pretrained", out _))
        {
            Expect(root, "type", "split", "pretrained", "sha256", "special_tokens");
            var name = Property(root, "pretrained", JsonValueKind.String).GetString()!;
            if (!PretrainedVocabularies.IsName(name))
            {
                throw Malformed($"\"{name}\" is not a vocabulary this build ships ({string.Join(", ", PretrainedVocabularies.Names)})");
            }
            var vocabulary = PretrainedVocabularies.Get(name);
            var recorded = Property(root, "sha256", JsonValueKind.String).GetString();
            if (recorded != vocabulary.Sha256)
            {
                throw Malformed($"it was made with a {name} vocabulary of SHA-256 {recorded}, this build ships {vocabulary.Sha256}");
            }
            return Tokenizer.FromRanks(split, vocabulary.Ranks, name, specials);
        }
        Expect(root, "type", "split", "ranks", "special_tokens");
        var ranksText = Property(root, "ranks", JsonValueKind.String).GetString()!;
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(ranksText));
        return Tokenizer.FromRanks(split, TiktokenRanks.Read(stream, "the tokenizer metadata's ranks"), null, specials);
    }

    private static SplitPattern Split(JsonElement root)
    {
        var name = Property(root, "split", JsonValueKind.String).GetString()!;
        return SplitPatterns.TryParse(name, out var split)
            ? split
            : throw Malformed($"the split \"{name}\" is not one of {string.Join(", ", SplitPatterns.Names)}");
    }

    private static List<SpecialToken> Specials(JsonElement root)
    {
        var specials = new List<SpecialToken>();
        foreach (var property in Property(root, "special_tokens", JsonValueKind.Object).EnumerateObject())
        {
            if (!property.Value.TryGetInt32(out var id) || id < 0)
            {
                throw Malformed($"special token {property.Name} has id {property.Value.GetRawText()}, not a token id");
            }
            specials.Add(new SpecialToken(property.Name, id));
        }
        return specials;
    }

    private static JsonElement Property(JsonElement root, string name, JsonValueKind kind) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == kind
            ? value
            : throw Malformed($"the \"{name}\" property should be a JSON {kind.ToString().ToLowerInvariant()}");

    private static void Expect(JsonElement root, params string[] names)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (Array.IndexOf(names, property.Name) < 0)
            {
                throw Malformed($"unexpected property \"{property.Name}\"");
            }
        }
    }

    internal static FormatException Malformed(string reason, Exception? inner = null) =>
        new($"The tokenizer metadata is malformed: {reason}.", inner);
}
