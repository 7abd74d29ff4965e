using System.Buffers.Binary;
using System.Text;
using NanoLlm.Data;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Data;

public sealed class ShardPreparerTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Output => _folder.File("shards");

    // Bytes plus an end-of-text token 256 that stands for no text: the shape of GPT-2's tokenizer, in 257 tokens.
    private sealed class BytesWithEndOfText : ITextEncoder
    {
        public int VocabSize => 257;

        public int? EndOfTextToken => 256;

        public string Metadata => "bytes+eot";

        public int TokenByteLength(int token) => token == 256 ? 0 : 1;

        public int Encode(ReadOnlySpan<byte> text, Span<int> tokens)
        {
            for (var i = 0; i < text.Length; i++)
            {
                tokens[i] = text[i];
            }
            return text.Length;
        }
    }

    private static string Lines(int seed, int bytes)
    {
        var random = new Random(seed);
        string[] words = ["to", "be", "or", "not", "that", "is", "the", "question", "whether", "'tis", "nobler", "in", "mind"];
        var text = new StringBuilder();
        while (text.Length < bytes)
        {
            var count = random.Next(1, 12);
            for (var i = 0; i < count; i++)
            {
                text.Append(words[random.Next(words.Length)]).Append(i + 1 < count ? ' ' : '\n');
            }
        }
        return text.ToString();
    }

    private PrepareSummary Prepare(ITextEncoder encoder, IReadOnlyList<ShardSplit> splits, int shardTokens, string separator = "", int threads = 2, Action<PrepareProgress>? progress = null, CancellationToken cancellation = default) =>
        ShardPreparer.Prepare(new PrepareRequest(Output, splits, shardTokens, separator, threads), encoder, progress, cancellation);

    private List<int> ReadSplit(string prefix, int vocabSize, uint fingerprint)
    {
        var tokens = new List<int>();
        foreach (var path in CorpusFiles.Resolve(Path.Combine(Output, $"{prefix}_*.bin")))
        {
            using var shard = TokenShard.Open(path, vocabSize, fingerprint);
            var all = new int[shard.Length];
            shard.Read(0, all);
            tokens.AddRange(all);
        }
        return tokens;
    }

    private Dictionary<string, byte[]> ShardBytes() =>
        Directory.GetFiles(Output).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [Fact]
    public void Byte_level_shards_hold_the_files_in_order_in_shards_of_the_given_size()
    {
        var first = _folder.Write("a.txt", "hello world\n");
        var second = _folder.Write("b.txt", "second file");

        var summary = Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), [new ShardSplit("train", SourceRange.Whole([first, second]))], shardTokens: 10);

        var fingerprint = Fingerprint.Of(Tokenizer.ByteLevel.ToMetadata());
        Assert.Equal("hello world\nsecond file", Encoding.UTF8.GetString([.. ReadSplit("train", 256, fingerprint).Select(t => (byte)t)]));
        Assert.Equal(["train_000000.bin", "train_000001.bin", "train_000002.bin"], Directory.GetFiles(Output).Select(Path.GetFileName).Order());
        Assert.Equal(new SplitSummary("train", 3, 0, 23, 23), summary.Splits[0]);
    }

    [Fact]
    public void A_shard_NanoLlm_writes_is_laid_out_as_llm_c_reads_it()
    {
        var text = _folder.Write("t.txt", "abc");

        Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), [new ShardSplit("train", SourceRange.Whole([text]))], shardTokens: 100);

        // llm.c's dataloader: int32 header[256]; header[0] == 20240520, header[1] == 1, file size == 1024 + 2 · header[2].
        var bytes = File.ReadAllBytes(Path.Combine(Output, "train_000000.bin"));
        Assert.Equal(20240520, BinaryPrimitives.ReadInt32LittleEndian(bytes));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(1024 + (2 * 3), bytes.Length);
        Assert.Equal([97, 98, 99], [.. Enumerable.Range(0, 3).Select(i => (int)BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(1024 + (2 * i))))]);
    }

    [Fact]
    public void End_of_text_goes_before_every_document_and_replaces_the_separator()
    {
        var first = _folder.Write("a.txt", "ab<|sep|>cd<|sep|>");
        var second = _folder.Write("b.txt", "ef");

        var summary = Prepare(new BytesWithEndOfText(), [new ShardSplit("train", SourceRange.Whole([first, second]))], shardTokens: 1000, separator: "<|sep|>");

        Assert.Equal([256, 'a', 'b', 256, 'c', 'd', 256, 'e', 'f'], ReadSplit("train", 257, Fingerprint.Of("bytes+eot")));
        Assert.Equal(6, summary.Splits[0].TextBytes);
    }

    [Fact]
    public void A_full_chunk_of_one_document_keeps_every_byte_after_its_end_of_text_token()
    {
        var text = new byte[(2 * ShardPreparer.ChunkBytes) + 5];
        text.AsSpan().Fill((byte)'x');
        var file = _folder.Write("long.txt", Encoding.UTF8.GetString(text));

        var summary = Prepare(new BytesWithEndOfText(), [new ShardSplit("train", SourceRange.Whole([file]))], shardTokens: 1 << 22);

        var tokens = ReadSplit("train", 257, Fingerprint.Of("bytes+eot"));
        Assert.Equal([256, .. text.Select(b => (int)b)], tokens);
        Assert.Equal(text.Length, summary.Splits[0].TextBytes);
    }

    [Fact]
    public void Chunks_of_one_byte_documents_get_an_end_of_text_token_for_each()
    {
        var text = string.Concat(Enumerable.Repeat("ab|c|", 500_000));
        var file = _folder.Write("short.txt", text);

        Prepare(new BytesWithEndOfText(), [new ShardSplit("train", SourceRange.Whole([file]))], shardTokens: 1 << 22, separator: "|", threads: 3);

        var expected = Enumerable.Repeat<int[]>([256, 'a', 'b', 256, 'c'], 500_000).SelectMany(t => t);
        Assert.Equal(expected, ReadSplit("train", 257, Fingerprint.Of("bytes+eot")));
    }

    [Fact]
    public void Shards_are_the_same_whatever_the_thread_count_and_decode_to_the_text()
    {
        var text = Lines(seed: 1, bytes: (5 * ShardPreparer.ChunkBytes / 2) + 123);
        var file = _folder.Write("big.txt", text);
        var tokenizer = Tokenizer.Train(Encoding.UTF8.GetBytes(text[..20_000]), 300);
        ShardSplit[] splits = [new("train", SourceRange.Whole([file]))];

        Prepare(new TokenizerTextEncoder(tokenizer), splits, shardTokens: 150_000, threads: 1);
        var one = ShardBytes();
        Directory.Delete(Output, recursive: true);
        Prepare(new TokenizerTextEncoder(tokenizer), splits, shardTokens: 150_000, threads: 2);

        Assert.Equal(one, ShardBytes());
        Assert.True(one.Count > 2, $"{one.Count} shards");
        var tokens = ReadSplit("train", 300, Fingerprint.Of(tokenizer.ToMetadata()));
        Assert.Equal(text, tokenizer.Decode(tokens.ToArray()));
    }

    [Fact]
    public void Running_again_keeps_the_whole_shards_and_rewrites_only_what_is_missing()
    {
        var file = _folder.Write("t.txt", Lines(seed: 2, bytes: 50_000));
        ShardSplit[] splits = [new("train", SourceRange.Whole([file]))];
        Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 7_000);
        var complete = ShardBytes();
        File.Delete(Path.Combine(Output, "train_000007.bin"));
        File.Delete(Path.Combine(Output, "train_000006.bin"));

        var again = Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 7_000);

        Assert.Equal(complete, ShardBytes());
        Assert.Equal(6, again.Splits[0].ShardsKept);
        Assert.Equal(8, again.Splits[0].Shards);
        Assert.Equal(8, Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 7_000).Splits[0].ShardsKept);
    }

    [Fact]
    public void Shards_of_another_preparation_are_replaced_and_extra_ones_deleted()
    {
        var file = _folder.Write("t.txt", Lines(seed: 3, bytes: 30_000));
        ShardSplit[] splits = [new("train", SourceRange.Whole([file]))];
        Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 3_000);

        var summary = Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 20_000);

        Assert.Equal(0, summary.Splits[0].ShardsKept);
        Assert.Equal(["train_000000.bin", "train_000001.bin"], Directory.GetFiles(Output).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Cancelling_leaves_whole_shards_only_and_running_again_finishes_them_identically()
    {
        var text = Lines(seed: 4, bytes: 3 * ShardPreparer.ChunkBytes);
        var file = _folder.Write("t.txt", text);
        ShardSplit[] splits = [new("train", SourceRange.Whole([file]))];
        Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 300_000);
        var complete = ShardBytes();
        Directory.Delete(Output, recursive: true);

        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => Prepare(
            new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 300_000, progress: p => { if (p.ShardsWritten >= 2) { cancel.Cancel(); } }, cancellation: cancel.Token));

        var left = Directory.GetFiles(Output).Select(f => Path.GetFileName(f)).ToList();
        Assert.All(left, name => Assert.Matches(@"^train_\d{6}\.bin$", name));
        Assert.InRange(left.Count, 2, complete.Count - 1);
        Assert.All(left, name => Assert.Equal(complete[name], File.ReadAllBytes(Path.Combine(Output, name))));
        Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), splits, shardTokens: 300_000);
        Assert.Equal(complete, ShardBytes());
    }

    [Fact]
    public void A_shard_that_cannot_be_put_in_place_stops_the_preparation_leaving_no_later_shard_nor_temporary_file()
    {
        var file = _folder.Write("t.txt", Lines(seed: 5, bytes: 50_000));
        Directory.CreateDirectory(Path.Combine(Output, "train_000001.bin"));

        Assert.ThrowsAny<IOException>(() => Prepare(new TokenizerTextEncoder(Tokenizer.ByteLevel), [new ShardSplit("train", SourceRange.Whole([file]))], shardTokens: 7_000));

        Assert.Equal(["train_000000.bin", "train_000001.bin"], Directory.GetFileSystemEntries(Output).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_file_that_shrank_since_it_was_measured_stops_the_preparation_naming_it()
    {
        var file = _folder.Write("t.txt", Lines(seed: 6, bytes: 3 * ShardPreparer.ChunkBytes / 2));

        var error = Assert.Throws<IOException>(() => Prepare(
            new TokenizerTextEncoder(Tokenizer.ByteLevel), [new ShardSplit("train", [new SourceRange(file, 0, 3 * ShardPreparer.ChunkBytes)])], shardTokens: 100_000));

        Assert.Contains(file, error.Message);
        Assert.Empty(Directory.GetFiles(Output, "*.tmp"));
    }

    [Fact]
    public void The_held_out_fraction_starts_after_a_line_end()
    {
        var file = _folder.Write("t.txt", "line one\nline two\nline three\nline four\n");

        var (kept, heldOut) = SourceRange.CutLast(SourceRange.Whole([file]), 0.4);

        // 39 bytes: the cut at byte 39 − 15 = 24 moves to the end of "line three\n".
        Assert.Equal([new SourceRange(file, 0, 29)], kept);
        Assert.Equal([new SourceRange(file, 29, 39)], heldOut);
    }

    [Fact]
    public void A_symbolic_link_is_read_as_the_file_it_points_to()
    {
        var file = _folder.Write("t.txt", "linked text");
        var link = _folder.File("link.txt");
        File.CreateSymbolicLink(link, file);

        Assert.Equal([new SourceRange(link, 0, 11)], SourceRange.Whole([link]));
    }
}
