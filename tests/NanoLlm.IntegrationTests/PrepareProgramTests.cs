namespace NanoLlm.IntegrationTests;

public sealed class PrepareProgramTests : IDisposable
{
    private const string ShardRun = """
        [model]
        name = "bigram"
        vocab_size = 256

        [prepare]
        input = "books"
        output = "shards"
        shard_tokens = 300

        [training]
        corpus = "shards/train_*.bin"
        val_corpus = "shards/val_*.bin"
        steps = 30
        batch_size = 8
        learning_rate = 1.0

        [weights]
        path = "out/tiny.weights"
        """;

    private readonly TempFolder _folder = new();

    public PrepareProgramTests()
    {
        _folder.Write("books/a.txt", string.Concat(Enumerable.Repeat("the cat sat on the mat.\n", 30)));
        _folder.Write("books/b.txt", string.Concat(Enumerable.Repeat("a dog lay on the log.\n", 30)));
        _folder.Write("run.toml", ShardRun);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Prepare_writes_shards_that_train_reads_and_running_it_again_keeps_them()
    {
        var prepared = ProgramRunner.Train(_folder.Path, "run.toml", "--prepare");
        var again = ProgramRunner.Train(_folder.Path, "run.toml", "--prepare");
        var trained = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.True(prepared.ExitCode == 0, prepared.StandardError);
        // 720 + 660 bytes; the last 10 % starts at the first line end after byte 1242: 720 + 24 lines of 22 bytes = 1248.
        Assert.Matches(@"^prepared train_shards=5 train_kept=0 train_tokens=1248 train_text_bytes=1248 val_shards=1 val_kept=0 val_tokens=132 val_text_bytes=132 mb_per_s=[\d.]+ seconds=[\d.]+ output=shards$", prepared.StandardOutput.Trim());
        Assert.Contains("train_kept=5 ", again.StandardOutput);
        Assert.Contains("val_kept=1 ", again.StandardOutput);
        Assert.True(trained.ExitCode == 0, trained.StandardError);
        Assert.Matches(@"^trained model=bigram steps=30 loss=[\d.]+ val_loss=[\d.]+ val_bpb=[\d.]+ ", trained.StandardOutput.Trim());
    }

    [Fact]
    public void A_bad_shard_exits_2_with_one_line_naming_it()
    {
        Directory.CreateDirectory(Path.Combine(_folder.Path, "shards"));
        File.WriteAllBytes(Path.Combine(_folder.Path, "shards/train_000000.bin"), new byte[1024 + 20]);

        var result = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            "error: shards/train_000000.bin: wrong magic number 0 (a token shard starts with 20240520, or 20240801 for 32-bit tokens): not a token shard; make prepare writes them",
            result.StandardError.Trim().Split('\n')[^1]);
        Assert.DoesNotContain("   at ", result.StandardError);
    }
}
