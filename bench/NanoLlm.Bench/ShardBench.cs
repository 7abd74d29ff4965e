using System.Diagnostics;
using System.Globalization;
using System.Text;
using NanoLlm.Data;
using NanoLlm.Tokenization;

namespace NanoLlm.Bench;

/// <summary>
/// The large-corpus benchmark's two halves. <c>--shuffled-corpus DIR MEGABYTES SEED</c> writes Tiny Shakespeare's
/// lines, shuffled and repeated by a seeded generator, as 128 MiB files <c>part_000.txt</c> … into DIR (no download,
/// the same bytes on every machine). <c>--encode-speed SHARDS_DIR_OR_VOCAB CORPUS_DIR MEGABYTES</c> measures one
/// thread encoding the first MEGABYTES of that corpus in the 1 MiB chunks <c>prepare</c> uses, with the tokenizer a
/// preparation wrote beside its shards (or bytes), and prints MB/s: the single-thread speed that <c>make prepare</c>'s
/// MB/s is compared with.
/// </summary>
public static class ShardBench
{
    private const int FileBytes = 128 << 20;

    public static void ShuffledCorpus(string folder, long megabytes, int seed)
    {
        var lines = Encoding.UTF8.GetString(BenchData.TinyShakespeare()).Split('\n').Select(l => Encoding.UTF8.GetBytes(l + "\n")).ToArray();
        var random = new Random(seed);
        Directory.CreateDirectory(folder);
        var total = megabytes << 20;
        var (written, part) = (0L, 0);
        FileStream? file = null;
        var clock = Stopwatch.StartNew();
        while (written < total)
        {
            random.Shuffle(lines);
            foreach (var line in lines)
            {
                if (file is null || file.Length + line.Length > FileBytes)
                {
                    file?.Dispose();
                    file = File.Create(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"part_{part++:D3}.txt")));
                }
                var take = (int)Math.Min(line.Length, total - written);
                file.Write(line, 0, take);
                written += take;
                if (written == total)
                {
                    break;
                }
            }
        }
        file?.Dispose();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {written} bytes in {part} files to {folder} in {clock.Elapsed.TotalSeconds:F1} s"));
    }

    public static void EncodeSpeed(string tokenizerSource, string corpus, int megabytes)
    {
        var tokenizerFile = Path.Combine(tokenizerSource, "tokenizer.json");
        var tokenizer = File.Exists(tokenizerFile) ? Tokenizer.FromMetadata(File.ReadAllText(tokenizerFile)) : Tokenizer.ByteLevel;
        var encoder = new TokenizerTextEncoder(tokenizer);
        var buffer = new byte[megabytes << 20];
        using (var stream = File.OpenRead(CorpusFiles.Resolve(corpus)[0]))
        {
            stream.ReadExactly(buffer);
        }
        // One pass to compile and warm the caches, then the timed pass.
        encoder.Encode(buffer.AsSpan(0, ShardPreparer.ChunkBytes));
        var clock = Stopwatch.StartNew();
        var tokens = 0L;
        for (var offset = 0; offset < buffer.Length; offset += ShardPreparer.ChunkBytes)
        {
            tokens += encoder.Encode(buffer.AsSpan(offset, Math.Min(ShardPreparer.ChunkBytes, buffer.Length - offset))).Length;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"encode vocab={tokenizer.VocabSize} threads=1 bytes={buffer.Length} tokens={tokens} seconds={seconds:F2} mb_per_s={buffer.Length / 1e6 / seconds:F2}"));
    }
}
