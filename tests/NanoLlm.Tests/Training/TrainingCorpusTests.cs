using System.Buffers.Binary;
using NanoLlm.Config;
using NanoLlm.Data;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class TrainingCorpusTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Shards => _folder.File("shards");

    private RunConfig TinyGpt(string weights, params string[] overrides)
    {
        string[] settings =
        [
            $"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={_folder.File(weights)}",
            "model.context_length=16", "model.embedding_size=16", "model.layers=1", "model.heads=2",
            "training.steps=24", "training.batch_size=4", "training.eval_interval=8", "training.checkpoint_interval=8",
            $"prepare.input={Repository.PathOf("configs/corpus.txt")}", $"prepare.output={Shards}",
        ];
        return RunConfigLoader.Load(Repository.PathOf("configs/gpt.toml"), [.. settings, .. overrides]);
    }

    [Fact]
    public void Training_on_one_shard_of_the_corpus_gives_the_weights_of_training_on_its_text()
    {
        CorpusPreparation.Prepare(TinyGpt("x", "prepare.val_fraction=0"), threads: 2, null, CancellationToken.None);

        var (fromText, textSummary) = Cortex.Train(TinyGpt("text.weights"), null, CancellationToken.None);
        var (fromShard, shardSummary) = Cortex.Train(TinyGpt("shard.weights", $"training.corpus={Shards}/train_*.bin"), null, CancellationToken.None);

        Assert.Equal(fromText.Model.Parameters.Values, fromShard.Model.Parameters.Values);
        Assert.Equal(textSummary.Validation, shardSummary.Validation);
    }

    [Fact]
    public void A_run_on_shards_stopped_and_resumed_ends_with_the_weights_of_an_uninterrupted_one()
    {
        CorpusPreparation.Prepare(TinyGpt("x", "prepare.shard_tokens=1500"), threads: 2, null, CancellationToken.None);
        string[] shards = [$"training.corpus={Shards}/train_*.bin", $"training.val_corpus={Shards}/val_*.bin"];
        Assert.Equal(3, Directory.GetFiles(Shards, "train_*.bin").Length);

        var (uninterrupted, _) = Cortex.Train(TinyGpt("straight.weights", shards), null, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        Cortex.Train(TinyGpt("stopped.weights", shards), p =>
        {
            if (p.Step == 10)
            {
                stop.Cancel();
            }
        }, stop.Token);
        var (resumed, summary) = Cortex.Train(TinyGpt("stopped.weights", shards), null, CancellationToken.None, resume: true);

        Assert.Equal(24, summary.Steps);
        Assert.Equal(uninterrupted.Model.Parameters.Values, resumed.Model.Parameters.Values);
    }

    [Fact]
    public void Validation_scores_the_held_out_shards_in_bits_per_byte_of_their_text()
    {
        CorpusPreparation.Prepare(TinyGpt("x", "model.vocab_size=300"), threads: 2, null, CancellationToken.None);
        var config = TinyGpt("bpe.weights", "model.vocab_size=300", $"training.corpus={Shards}/train_*.bin", $"training.val_corpus={Shards}/val_*.bin");

        var (cortex, summary) = Cortex.Train(config, null, CancellationToken.None);

        Assert.Equal(File.ReadAllText(Path.Combine(Shards, TrainingCorpus.TokenizerFileName)), cortex.Tokenizer.ToMetadata());
        var validation = summary.Validation!.Value;
        // More than one byte per token: bits per byte is below nats per token / ln 2.
        Assert.InRange(validation.BitsPerByte, 0.1, validation.Loss / Math.Log(2) * 0.9);
    }

    [Fact]
    public void A_vocabulary_over_65536_tokens_is_prepared_in_llm_c_uint32_layout_and_read_back_by_the_training_corpus()
    {
        string[] o200k = ["tokenizer.pretrained=o200k_base", "prepare.val_fraction=0"];
        var tokenizer = Cortex.BuildTokenizer(TinyGpt("x", o200k));
        int[] expected = [tokenizer.EndOfText!.Value, .. tokenizer.Encode(File.ReadAllText(Repository.PathOf("configs/corpus.txt")), SpecialTokenHandling.AsText)];
        Assert.Contains(expected, id => id > ushort.MaxValue);

        CorpusPreparation.Prepare(TinyGpt("x", o200k), threads: 2, null, CancellationToken.None);

        var bytes = File.ReadAllBytes(Path.Combine(Shards, "train_000000.bin"));
        Assert.Equal([20240801, 7, expected.Length], [.. Enumerable.Range(0, 3).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4)))]);
        Assert.Equal(ShardHeader.Bytes + (expected.Length * sizeof(uint)), bytes.Length);
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(i => (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(ShardHeader.Bytes + (i * sizeof(uint))))).ToArray());
        using var corpus = TrainingCorpus.Open(TinyGpt("x", [.. o200k, $"training.corpus={Shards}/train_*.bin"]), tokenizer);
        var read = new List<int>();
        foreach (var split in (TokenSplit[])[corpus.Train, corpus.Validation])
        {
            var (inputs, targets) = (new int[split.Length - 1], new int[split.Length - 1]);
            split.Window(0, inputs, targets);
            read.AddRange([inputs[0], .. targets]);
        }
        Assert.Equal(expected, read);
    }

    [Fact]
    public void Shards_of_another_tokenizer_are_refused_naming_the_shard()
    {
        CorpusPreparation.Prepare(TinyGpt("x", "model.vocab_size=300"), threads: 2, null, CancellationToken.None);
        var other = Tokenizer.Train(File.ReadAllBytes(Repository.PathOf("configs/corpus.txt")).Reverse().ToArray(), 300);
        Assert.Equal(300, other.VocabSize);
        File.WriteAllText(Path.Combine(Shards, TrainingCorpus.TokenizerFileName), other.ToMetadata());

        var error = Assert.Throws<ShardFileException>(() => Cortex.Train(
            TinyGpt("other.weights", "model.vocab_size=300", $"training.corpus={Shards}/train_*.bin"), null, CancellationToken.None));

        Assert.StartsWith($"{Shards}/train_000000.bin: written by another tokenizer", error.Message);
    }

    [Fact]
    public void A_shard_corpus_that_matches_nothing_says_to_prepare_first()
    {
        var error = Assert.Throws<ConfigException>(() => Cortex.Train(TinyGpt("none.weights", $"training.corpus={Shards}/train_*.bin"), null, CancellationToken.None));

        Assert.Contains($"[training] corpus: {Shards}/train_*.bin: no such file or directory: run make prepare CONFIG=", error.Message);
    }
}
