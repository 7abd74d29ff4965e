using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NanoLlm.Storage;
using NanoLlm.Tokenization;

namespace NanoLlm.Interop;

/// <summary>
/// GPT-2's tokenizer in other projects' files: Hugging Face's <c>vocab.json</c> + <c>merges.txt</c> (read by
/// <see cref="Tokenizer.FromHuggingFaceFiles"/>, written here) or <c>tokenizer.json</c> (read by
/// <see cref="Tokenizer.FromHuggingFaceTokenizerFile"/>), and llm.c's <c>gpt2_tokenizer.bin</c> (a header of 256
/// int32s — magic 20240328, version 1 or 2, token count, end-of-text id (version 2) — then each token as one length
/// byte and its bytes). A vocabulary that is GPT-2's, token for token, becomes the shipped <c>gpt2</c> tokenizer, so
/// the weights file names it instead of carrying 50,257 spellings.
/// </summary>
public static class Gpt2Tokenizers
{
    public const int LlmcMagic = 20240328;
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string TokenizerJsonFile = "tokenizer.json";

    /// <summary>GPT-2's vocabulary: 50,000 merges on 256 bytes, and <c>&lt;|endoftext|&gt;</c> last.</summary>
    public const int Gpt2VocabSize = 50_257;

    /// <summary>
    /// The tokenizer of a Hugging Face directory (GPT-2's split): <c>vocab.json</c> + <c>merges.txt</c> when it has
    /// them, else <c>tokenizer.json</c> (its byte-level BPE model and added tokens).
    /// </summary>
    public static Tokenizer ReadHuggingFace(string directory)
    {
        var (vocab, merges, json) = (Path.Combine(directory, VocabFile), Path.Combine(directory, MergesFile), Path.Combine(directory, TokenizerJsonFile));
        try
        {
            if (File.Exists(vocab) && File.Exists(merges))
            {
                return AsShippedGpt2(Tokenizer.FromHuggingFaceFiles(vocab, merges, SplitPattern.Gpt2));
            }
            if (File.Exists(json))
            {
                return AsShippedGpt2(Tokenizer.FromHuggingFaceTokenizerFile(json));
            }
        }
        catch (FormatException e)
        {
            throw new WeightsFileException(e.Message, e);
        }
        throw new WeightsFileException(File.Exists(vocab) || File.Exists(merges)
            ? $"{(File.Exists(vocab) ? merges : vocab)}: file not found: NanoLlm reads GPT-2's tokenizer from {VocabFile} + {MergesFile}, or from {TokenizerJsonFile}"
            : $"{directory}: no tokenizer: NanoLlm reads GPT-2's tokenizer from {VocabFile} + {MergesFile}, or from {TokenizerJsonFile}");
    }

    /// <summary>llm.c's tokenizer file: ids in file order, the end-of-text token (or the one spelling <c>&lt;|endoftext|&gt;</c>) special.</summary>
    public static Tokenizer ReadLlmc(string path)
    {
        var bytes = LlmcGpt2.ReadAll(path);
        if (bytes.Length < 1024 || BinaryPrimitives.ReadInt32LittleEndian(bytes) != LlmcMagic)
        {
            throw new WeightsFileException($"{path}: not an llm.c tokenizer file (it starts with magic {LlmcMagic} and a 1,024-byte header)");
        }
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version is not (1 or 2))
        {
            throw new WeightsFileException($"{path}: llm.c tokenizer version {version} is not supported (NanoLlm reads 1 and 2)");
        }
        if (count is < 256 or > Bpe.MaxVocabSize)
        {
            throw new WeightsFileException($"{path}: token count (header[2]) is {count}: expected 256 to {Bpe.MaxVocabSize}");
        }
        var endOfText = version == 2 ? BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)) : -1;
        var spellings = new byte[count][];
        var position = 1024;
        for (var id = 0; id < count; id++)
        {
            if (position >= bytes.Length || position + 1 + bytes[position] > bytes.Length)
            {
                throw new WeightsFileException($"{path}: truncated: token {id} of {count} runs past the end of the file");
            }
            spellings[id] = bytes.AsSpan(position + 1, bytes[position]).ToArray();
            position += 1 + bytes[position];
        }
        if (position != bytes.Length)
        {
            throw new WeightsFileException($"{path}: {bytes.Length - position} bytes after the last of its {count} tokens");
        }
        var endOfTextBytes = Encoding.UTF8.GetBytes(Tokenizer.EndOfTextSpelling);
        if (endOfText < 0)
        {
            endOfText = Array.FindIndex(spellings, s => s.AsSpan().SequenceEqual(endOfTextBytes));
        }
        if (endOfText >= count)
        {
            throw new WeightsFileException($"{path}: end-of-text token (header[3]) {endOfText} is not one of its {count} tokens");
        }
        var specials = new List<SpecialToken>();
        var ranks = new List<byte[]?>(spellings);
        if (endOfText >= 0)
        {
            specials.Add(new SpecialToken(Encoding.UTF8.GetString(spellings[endOfText]), endOfText));
            ranks[endOfText] = null;
        }
        try
        {
            return AsShippedGpt2(Tokenizer.FromRanks(SplitPattern.Gpt2, new ByteSequenceTable(ranks), null, specials));
        }
        catch (FormatException e)
        {
            throw new WeightsFileException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Writes llm.c's tokenizer file (version 2 with an end-of-text token, else 1); every token must spell at most 255 bytes.</summary>
    public static void WriteLlmc(string path, Tokenizer tokenizer)
    {
        AtomicFile.Write(path, stream =>
        {
            var header = new byte[1024];
            BinaryPrimitives.WriteInt32LittleEndian(header, LlmcMagic);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), tokenizer.EndOfText is null ? 1 : 2);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), tokenizer.VocabSize);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), tokenizer.EndOfText ?? 0);
            stream.Write(header);
            for (var id = 0; id < tokenizer.VocabSize; id++)
            {
                var spelling = tokenizer.TokenBytes(id);
                if (spelling.Length > byte.MaxValue)
                {
                    throw new ArgumentException($"Token {id} spells {spelling.Length} bytes; llm.c's tokenizer file holds at most 255.", nameof(tokenizer));
                }
                stream.WriteByte((byte)spelling.Length);
                stream.Write(spelling);
            }
        });
    }

    /// <summary>
    /// Writes <c>vocab.json</c> (each token's bytes through GPT-2's byte-to-unicode table → id, special tokens by
    /// their text) and <c>merges.txt</c> (the merges in rank order). Learned merges are written as learned; a ranks
    /// vocabulary's merge for a token is found as tiktoken's converters do: byte-pair merging its bytes with the
    /// ranks below its own leaves exactly two parts.
    /// </summary>
    /// <exception cref="ArgumentException">The tokenizer does not split text as GPT-2 does, so these files would not reproduce it.</exception>
    public static void WriteHuggingFace(string directory, Tokenizer tokenizer)
    {
        if (tokenizer.Split != SplitPattern.Gpt2)
        {
            throw new ArgumentException(
                $"The tokenizer splits text by {SplitPatterns.Name(tokenizer.Split)}; Hugging Face's GPT-2 tokenizer files split as GPT-2 does.", nameof(tokenizer));
        }
        var byteToUnicode = new char[256];
        foreach (var (character, b) in HuggingFaceBpe.UnicodeToByte())
        {
            byteToUnicode[b] = character;
        }
        string Spell(ReadOnlySpan<byte> bytes)
        {
            var text = new StringBuilder(bytes.Length);
            foreach (var b in bytes)
            {
                text.Append(byteToUnicode[b]);
            }
            return text.ToString();
        }

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges(tokenizer))
        {
            merges.Append(Spell(left)).Append(' ').Append(Spell(right)).Append('\n');
        }
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, MergesFile), stream => stream.Write(Encoding.UTF8.GetBytes(merges.ToString())));
        AtomicFile.Write(Path.Combine(directory, VocabFile), stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            json.WriteStartObject();
            var specials = tokenizer.SpecialTokens.ToDictionary(s => s.Id, s => s.Text);
            for (var id = 0; id < tokenizer.VocabSize; id++)
            {
                if (specials.TryGetValue(id, out var special))
                {
                    json.WriteNumber(special, id);
                }
                else if (tokenizer.TokenBytes(id) is { IsEmpty: false } spelling)
                {
                    json.WriteNumber(Spell(spelling), id);
                }
            }
            json.WriteEndObject();
        });
    }

    // Each merge as the bytes of its two parts, in the order they apply.
    private static IEnumerable<(byte[] Left, byte[] Right)> Merges(Tokenizer tokenizer)
    {
        if (tokenizer.IsTrained)
        {
            foreach (var (left, right) in tokenizer.Merges)
            {
                yield return (tokenizer.TokenBytes(left).ToArray(), tokenizer.TokenBytes(right).ToArray());
            }
            yield break;
        }
        var ranks = tokenizer.Ranks!;
        for (var id = 0; id < ranks.IdCount; id++)
        {
            var spelling = ranks.Spelling(id);
            if (spelling.Length < 2)
            {
                continue;
            }
            var parts = MergeBelow(ranks, spelling.ToArray(), id);
            if (parts.Count != 2)
            {
                throw new ArgumentException($"Token {id} is not the merge of two earlier tokens, so merges.txt cannot make it.", nameof(tokenizer));
            }
            yield return (parts[0], parts[1]);
        }
    }

    // tiktoken's byte_pair_merge restricted to ranks below maxRank: the lowest-ranked adjacent pair joins until none can.
    private static List<byte[]> MergeBelow(ByteSequenceTable ranks, byte[] bytes, int maxRank)
    {
        var parts = bytes.Select(b => new[] { b }).ToList();
        while (true)
        {
            var (best, bestRank) = (-1, maxRank);
            for (var i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetId([.. parts[i], .. parts[i + 1]], out var rank) && rank < bestRank)
                {
                    (best, bestRank) = (i, rank);
                }
            }
            if (best < 0)
            {
                return parts;
            }
            parts[best] = [.. parts[best], .. parts[best + 1]];
            parts.RemoveAt(best + 1);
        }
    }

    // GPT-2's own vocabulary, read from another project's files, is the shipped one: same ids, same bytes, same end-of-text.
    private static Tokenizer AsShippedGpt2(Tokenizer tokenizer)
    {
        if (tokenizer.VocabSize != Gpt2VocabSize || tokenizer.EndOfText != Gpt2VocabSize - 1 || tokenizer.SpecialTokens.Count != 1)
        {
            return tokenizer;
        }
        var shipped = Tokenizer.Pretrained("gpt2");
        for (var id = 0; id < shipped.VocabSize; id++)
        {
            if (!tokenizer.TokenBytes(id).SequenceEqual(shipped.TokenBytes(id)))
            {
                return tokenizer;
            }
        }
        return shipped;
    }
}
