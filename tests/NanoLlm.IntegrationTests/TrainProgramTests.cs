using NanoLlm.Config;
using NanoLlm.Training;

namespace NanoLlm.IntegrationTests;

public sealed class TrainProgramTests : IDisposable
{
    private const string TinyRun = """
        [model]
        name = "bigram"
        vocab_size = 256

        [training]
        corpus = "corpus.txt"
        steps = 40
        batch_size = 8
        learning_rate = 1.0

        [weights]
        path = "out/tiny.weights"
        """;

    private readonly TempFolder _folder = new();

    public TrainProgramTests()
    {
        _folder.Write("corpus.txt", string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 40)));
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Train_writes_a_loadable_weights_file_and_a_summary_line()
    {
        _folder.Write("run.toml", TinyRun);

        var result = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.True(result.ExitCode == 0, result.StandardError);
        var lastLine = result.StandardOutput.TrimEnd().Split('\n')[^1];
        Assert.Matches(@"^trained model=bigram steps=40 loss=\d+\.\d{4} val_loss=\d+\.\d{4} val_bpb=\d+\.\d{4} best_val_loss=\d+\.\d{4} best_val_step=\d+ best_val_minutes=[\d.]+ tokens_per_s=\d+ seconds=[\d.]+ minutes=[\d.]+ weights=out/tiny.weights metrics=out/tiny.weights.metrics.csv plot=out/tiny.weights.loss.png$", lastLine);
        var cortex = Cortex.Load(Path.Combine(_folder.Path, "out/tiny.weights"));
        Assert.Equal("bigram", cortex.Model.Spec.Name);
    }

    [Fact]
    public void A_bad_config_exits_2_with_a_one_line_message_naming_file_line_and_key()
    {
        _folder.Write("run.toml", TinyRun.Replace("learning_rate = 1.0", "learning_rate = -1.0"));

        var result = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: run.toml:9: [training] learning_rate: -1 is out of range: use a number greater than 0 and at most 1000", result.StandardError.Trim());
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "out")));
    }

    [Fact]
    public void A_missing_corpus_exits_2_naming_the_key()
    {
        _folder.Write("run.toml", TinyRun.Replace("corpus.txt", "absent.txt"));

        var result = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("[training] corpus: cannot read absent.txt (file not found)", result.StandardError);
    }

    [Fact]
    public void Init_only_writes_the_untrained_model_with_its_tokenizer_and_trains_nothing()
    {
        _folder.Write("run.toml", TinyRun.Replace("vocab_size = 256", "vocab_size = 260"));

        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--init-only");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal("initialized model=bigram vocab_size=260 weights=out/tiny.weights", result.StandardOutput.Trim());
        Assert.False(File.Exists(Path.Combine(_folder.Path, "out/tiny.weights.metrics.csv")));
        var written = Cortex.Load(Path.Combine(_folder.Path, "out/tiny.weights"));
        var corpus = Path.Combine(_folder.Path, "corpus.txt");
        var expected = Cortex.Initialize(RunConfigLoader.Load(Path.Combine(_folder.Path, "run.toml"), [$"training.corpus='{corpus}'"]));
        Assert.Equal(260, written.Tokenizer.VocabSize);
        Assert.Equal(expected.Tokenizer.ToMetadata(), written.Tokenizer.ToMetadata());
        Assert.Equal(expected.Model.Parameters.Values, written.Model.Parameters.Values);
    }

    [Fact]
    public void Init_only_and_resume_together_are_a_usage_error()
    {
        _folder.Write("run.toml", TinyRun);

        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--init-only", "--resume");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--resume, --init-only and --prepare exclude each other", result.StandardError);
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "out")));
    }

    [Fact]
    public void No_arguments_is_a_usage_error()
    {
        var result = ProgramRunner.Train(_folder.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Usage: train CONFIG", result.StandardError);
    }
}
