using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NanoLlm.Tests.Support;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> laid out as the tokenizers library saves GPT-2's (byte-level pre-tokenizer,
/// post-processor and decoder, a BPE model with its vocabulary and merges, <c>&lt;|endoftext|&gt;</c> in
/// <c>added_tokens</c>), built from the <c>vocab.json</c> + <c>merges.txt</c> of a directory. Merges are written as
/// <c>"left right"</c> strings (tokenizers before 0.20) or <c>[left, right]</c> arrays (0.20 and later).
/// </summary>
public static class HuggingFaceTokenizerJson
{
    public static JsonObject FromPair(string directory, bool mergesAsArrays)
    {
        var vocab = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "vocab.json")))!.AsObject();
        var merges = new JsonArray();
        var made = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(directory, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ');
            merges.Add(mergesAsArrays ? new JsonArray(parts[0], parts[1]) : line);
            made.Add(parts[0] + parts[1]);
        }
        var added = new JsonArray();
        foreach (var (token, id) in vocab.Where(entry => entry.Key.Length > 1 && !made.Contains(entry.Key)))
        {
            added.Add(new JsonObject
            {
                ["id"] = id!.GetValue<int>(),
                ["content"] = token,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = true,
                ["special"] = true,
            });
        }
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(addPrefixSpace: false, trimOffsets: true),
            ["post_processor"] = ByteLevel(addPrefixSpace: true, trimOffsets: false),
            ["decoder"] = ByteLevel(addPrefixSpace: true, trimOffsets: true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    public static void Write(JsonObject tokenizer, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(path, tokenizer.ToJsonString(options));
    }

    private static JsonObject ByteLevel(bool addPrefixSpace, bool trimOffsets) => new()
    {
        ["type"] = "ByteLevel",
        ["add_prefix_space"] = addPrefixSpace,
        ["trim_offsets"] = trimOffsets,
        ["use_regex"] = true,
    };
}
