using NanoLlm.Config;
using NanoLlm.Tests.Support;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class InitFromTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // The pretrained model: a small GPT with a 300-token BPE, trained for a few steps on the shipped corpus.
    private string Pretrained()
    {
        var path = _folder.File("pretrained.weights");
        var config = RunConfigLoader.Load(Repository.PathOf("configs/gpt.toml"),
        [
            $"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={path}", "model.vocab_size=300",
            "model.context_length=16", "model.embedding_size=16", "model.layers=1", "model.heads=2", "model.positional=\"learned\"",
            "training.steps=4", "training.batch_size=4", "training.eval_interval=0", "training.val_fraction=0",
        ]);
        Cortex.Train(config, null, CancellationToken.None);
        return path;
    }

    // A fine-tuning run file with no [model] but what the test adds.
    private RunConfig FineTune(string initFrom, string weights, string model = "", params string[] overrides)
    {
        var path = _folder.Write($"{weights}.toml", $"""
            {model}
            [training]
            init_from = "{initFrom}"
            corpus = "{Repository.PathOf("configs/corpus.txt")}"
            steps = 12
            batch_size = 4
            optimizer = "adamw"
            learning_rate = 1e-3
            checkpoint_interval = 4
            eval_interval = 4

            [weights]
            path = "{_folder.File(weights)}"
            """);
        return RunConfigLoader.Load(path, overrides);
    }

    [Fact]
    public void A_run_starts_from_the_files_parameters_and_tokenizer()
    {
        var pretrained = Cortex.Load(Pretrained());

        var (tuned, _) = Cortex.Train(FineTune(_folder.File("pretrained.weights"), "tuned.weights", overrides: ["training.learning_rate=1e-7", "training.steps=1"]), null, CancellationToken.None);

        Assert.Equal(pretrained.Tokenizer.Merges, tuned.Tokenizer.Merges);
        Assert.Equal(pretrained.Model.Spec.Hyperparameters.ToJson(), tuned.Model.Spec.Hyperparameters.ToJson());
        var (before, after) = (pretrained.Model.Parameters.Values, tuned.Model.Parameters.Values);
        Assert.InRange(Enumerable.Range(0, before.Length).Max(i => Math.Abs(before[i] - after[i])), 1e-9, 1e-5);
    }

    [Fact]
    public void A_model_key_may_repeat_the_files_value_and_dropout_and_attention_dropout_may_change()
    {
        var initFrom = Pretrained();

        var resolved = InitFrom.Resolve(FineTune(initFrom, "tuned.weights", "[model]\nname = \"gpt\"\nlayers = 1\ndropout = 0.2\nattention_dropout = 0.1"));

        Assert.Equal("gpt", resolved.Model.Name);
        Assert.Equal(300, resolved.Model.VocabSize);
        Assert.Equal(0.2, resolved.Model.Hyperparameters.Written["dropout"].Value);
        Assert.Equal(0.1, resolved.Model.Hyperparameters.Written["attention_dropout"].Value);
        Assert.Equal(16L, resolved.Model.Hyperparameters.Written["embedding_size"].Value);
    }

    [Theory]
    [InlineData("layers = 2", "[model] layers = 2 disagrees with init_from", "whose layers is 1: set it to 1 or remove it")]
    [InlineData("vocab_size = 256", "[model] vocab_size = 256 disagrees with init_from", "whose vocab_size is 300: set it to 300 or remove it")]
    [InlineData("name = \"mlp\"", "[model] name = \"mlp\" disagrees with init_from", "whose name is \"gpt\": set it to \"gpt\" or remove it")]
    public void A_model_key_that_disagrees_with_the_file_is_named(string line, string start, string end)
    {
        var initFrom = Pretrained();

        var error = Assert.Throws<ConfigException>(() => InitFrom.Resolve(FineTune(initFrom, "tuned.weights", $"[model]\n{line}")));

        Assert.Contains(start, error.Message, StringComparison.Ordinal);
        Assert.EndsWith(end, error.Message, StringComparison.Ordinal);
        Assert.Contains("tuned.weights.toml:2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fine_tune_stopped_and_resumed_ends_with_the_same_weights_as_an_uninterrupted_one()
    {
        var initFrom = Pretrained();
        var (straight, _) = Cortex.Train(FineTune(initFrom, "straight.weights"), null, CancellationToken.None);

        using var stop = new CancellationTokenSource();
        var (_, first) = Cortex.Train(FineTune(initFrom, "stopped.weights"), p =>
        {
            if (p.Step == 6)
            {
                stop.Cancel();
            }
        }, stop.Token);
        var (resumed, second) = Cortex.Train(FineTune(initFrom, "stopped.weights"), null, CancellationToken.None, resume: true);

        Assert.Equal((6, 12), (first.Steps, second.Steps));
        Assert.Equal(straight.Model.Parameters.Values, resumed.Model.Parameters.Values);
        Assert.Equal(straight.Tokenizer.Merges, resumed.Tokenizer.Merges);
    }

    [Fact]
    public void A_file_that_is_not_a_NanoLlm_weights_file_is_refused()
    {
        var path = _folder.Write("foreign.safetensors", "");
        NanoLlm.Storage.SafeTensors.Write(path, [new("w", [1], new float[] { 1 })], new Dictionary<string, string> { ["format"] = "pt" });

        var error = Assert.Throws<ConfigException>(() => InitFrom.Resolve(FineTune(path, "tuned.weights")));

        Assert.Contains("is not a NanoLlm weights file: import foreign checkpoints first (make import)", error.Message, StringComparison.Ordinal);
    }
}
