using System.Buffers;
using System.Text;
using System.Text.Json;

namespace NanoLlm.Tokenization;

/// <summary>
/// The tokenizer as a line of JSON for a weights file's metadata: <c>{"type":"byte_bpe","merges":[[97,98],[256,99]]}</c>,
/// the merges as [left, right] pairs in the order learned (merge i makes token 256 + i). Reading refuses anything else.
/// </summary>
internal static class BpeMetadata
{
    public const string TypeName = "byte_bpe";

    private const string TypeProperty = "type";
    private const string MergesProperty = "merges";
    private const int MaxMerges = Bpe.MaxVocabSize - Bpe.ByteCount;

    /// <summary>
    /// The most bytes all tokens may spell together. Each merge can double a token's length, so a few hundred bytes
    /// of metadata could otherwise ask for gigabytes; GPT-2's 50,257 tokens spell about 400 KB.
    /// </summary>
    public const int MaxSpelledBytes = 8 << 20;

    public static string Write(ReadOnlySpan<TokenPair> merges)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(TypeProperty, TypeName);
            WriteMerges(writer, merges);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The <c>"merges"</c> property: [left, right] pairs in the order learned.</summary>
    public static void WriteMerges(Utf8JsonWriter writer, ReadOnlySpan<TokenPair> merges)
    {
        writer.WriteStartArray(MergesProperty);
        foreach (var (left, right) in merges)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(left);
            writer.WriteNumberValue(right);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }

    /// <exception cref="FormatException">Anything that is not a tokenizer <see cref="Write"/> could have written.</exception>
    public static TokenPair[] ReadMerges(string metadata)
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
            try
            {
                return ReadMergesObject(document.RootElement);
            }
            catch (InvalidOperationException e)
            {
                // A \u escape of half a surrogate pair is valid JSON but no .NET string.
                throw Malformed($"a name or value in it is not valid text ({e.Message})", e);
            }
        }
    }

    private static TokenPair[] ReadMergesObject(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Malformed($"it should be a JSON object like {{\"{TypeProperty}\":\"{TypeName}\",\"{MergesProperty}\":[[97,98]]}}, not {root.ValueKind}");
        }
        JsonElement? type = null;
        JsonElement? merges = null;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case TypeProperty when type is null:
                    type = property.Value;
                    break;
                case MergesProperty when merges is null:
                    merges = property.Value;
                    break;
                default:
                    throw Malformed($"unexpected or repeated property \"{property.Name}\"");
            }
        }
        if (type is not { ValueKind: JsonValueKind.String } || type.Value.GetString() != TypeName)
        {
            var found = type is null ? "missing" : type.Value.GetRawText();
            throw Malformed($"the \"{TypeProperty}\" property should be \"{TypeName}\", not {found}");
        }
        if (merges is not { ValueKind: JsonValueKind.Array })
        {
            throw Malformed($"the \"{MergesProperty}\" property should be an array of [left, right] token pairs");
        }
        return ReadMerges(merges.Value);
    }

    /// <summary>Merges as a JSON array of [left, right] pairs, checked as <see cref="ReadMerges(string)"/> checks them.</summary>
    public static TokenPair[] ReadMerges(JsonElement array)
    {
        var count = array.GetArrayLength();
        if (count > MaxMerges)
        {
            throw Malformed($"it has {count} merges; at most {MaxMerges} fit in {Bpe.MaxVocabSize} tokens of 16 bits");
        }
        var merges = new TokenPair[count];
        var mergeOfPair = new Dictionary<uint, int>(count);
        // Token lengths in bytes, to refuse merges that would spell more bytes than an array holds (each merge can double).
        var tokenLengths = new long[Bpe.ByteCount + count];
        tokenLengths.AsSpan(0, Bpe.ByteCount).Fill(1);
        var totalLength = (long)Bpe.ByteCount;
        var i = 0;
        foreach (var element in array.EnumerateArray())
        {
            var pair = ReadPair(element, i);
            if (!mergeOfPair.TryAdd(pair.Key, i))
            {
                throw Malformed($"merge {i} repeats the pair [{pair.Left}, {pair.Right}] of merge {mergeOfPair[pair.Key]}");
            }
            var length = tokenLengths[pair.Left] + tokenLengths[pair.Right];
            totalLength += length;
            if (totalLength > MaxSpelledBytes)
            {
                throw Malformed($"its tokens up to merge {i} spell more than {MaxSpelledBytes} bytes in all");
            }
            tokenLengths[Bpe.ByteCount + i] = length;
            merges[i++] = pair;
        }
        return merges;
    }

    private static TokenPair ReadPair(JsonElement element, int index)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != 2
            || !TryGetTokenId(element[0], out var left) || !TryGetTokenId(element[1], out var right))
        {
            throw Malformed($"merge {index} should be a pair of token ids [left, right], not {element.GetRawText()}");
        }
        var newToken = Bpe.ByteCount + index;
        foreach (var token in (ReadOnlySpan<int>)[left, right])
        {
            if (token < 0)
            {
                throw Malformed($"merge {index} uses token {token}, which is not a token id");
            }
            if (token >= newToken)
            {
                throw Malformed($"merge {index} uses token {token}, which is not defined before it (merge {index} makes token {newToken})");
            }
        }
        return new TokenPair(left, right);
    }

    private static bool TryGetTokenId(JsonElement element, out int token)
    {
        token = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out token);
    }

    private static FormatException Malformed(string reason, Exception? inner = null) =>
        new($"The tokenizer metadata is malformed: {reason}.", inner);
}
