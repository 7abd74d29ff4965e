using NanoLlm.Config;
using NanoLlm.DocsTests.Support;
using NanoLlm.Training;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/12-token-shards.md.</summary>
public sealed class ShardExercises : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("nanollm-docs-shards-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Shards => Path.Combine(_folder, "shards");

    [Fact]
    public void The_shipped_corpus_makes_five_training_shards_of_1000_tokens()
    {
        var summary = CorpusPreparation.Prepare(Run("prepare.shard_tokens=1000"), threads: 2, null, CancellationToken.None);

        var sizes = Directory.GetFiles(Shards, "*.bin").Order(StringComparer.Ordinal).Select(f => new FileInfo(f).Length);
        Assert.Equal([3024L, 3024, 3024, 3024, 1024 + (2 * 7), 1024 + (2 * 445)], sizes);
        Assert.Equal((5, 4007L, 1, 445L), (summary.Splits[0].Shards, summary.Splits[0].Tokens, summary.Splits[1].Shards, summary.Splits[1].Tokens));
    }

    [Fact]
    public void Windows_never_cross_a_shard_boundary()
    {
        Assert.Equal(3975, TrainingWindows(shardTokens: 100_000, length: 32));
        Assert.Equal(3872, TrainingWindows(shardTokens: 1000, length: 32));
    }

    private long TrainingWindows(int shardTokens, int length)
    {
        var config = Run($"prepare.shard_tokens={shardTokens}");
        CorpusPreparation.Prepare(config, threads: 2, null, CancellationToken.None);
        var tokenizer = TrainingCorpus.Tokenizer(config);
        using var corpus = TrainingCorpus.Open(config, tokenizer);
        return corpus.Train.WindowStarts(length);
    }

    private RunConfig Run(params string[] overrides) =>
        RunConfigLoader.Load(Repository.PathOf("configs/shards.toml"),
        [
            $"prepare.input={Repository.PathOf("configs/corpus.txt")}",
            $"prepare.output={Shards}",
            $"training.corpus={Shards}/train_*.bin",
            $"training.val_corpus={Shards}/val_*.bin",
            $"weights.path={Path.Combine(_folder, "shards.weights")}",
            .. overrides,
        ]);
}
