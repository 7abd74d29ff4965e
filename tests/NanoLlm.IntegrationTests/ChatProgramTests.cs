namespace NanoLlm.IntegrationTests;

public sealed class ChatProgramTests : IDisposable
{
    private const string TinyRun = """
        [model]
        name = "bigram"

        [training]
        corpus = "corpus.txt"
        steps = 200
        batch_size = 16
        learning_rate = 2.0

        [weights]
        path = "tiny.weights"

        [sampling]
        max_new_tokens = 12
        temperature = 0
        """;

    private readonly TempFolder _folder = new();

    public ChatProgramTests()
    {
        _folder.Write("corpus.txt", string.Concat(Enumerable.Repeat("abcdefgh", 50)));
        _folder.Write("run.toml", TinyRun);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Prompt_mode_prints_the_completion_the_trained_model_predicts()
    {
        Assert.Equal(0, ProgramRunner.Train(_folder.Path, "run.toml").ExitCode);

        var result = ProgramRunner.Chat(_folder.Path, "run.toml", "--prompt", "a");

        Assert.True(result.ExitCode == 0, result.StandardError);
        // Greedy decoding of a bigram trained on "abcdefgh…" continues the cycle.
        Assert.Equal("bcdefghabcde", result.StandardOutput.TrimEnd('\n'));
    }

    [Fact]
    public void Prompt_mode_works_with_an_mlp_weights_file_too()
    {
        _folder.Write("mlp.toml", TinyRun
            .Replace("name = \"bigram\"", "name = \"mlp\"\ncontext_length = 3\nhidden_size = 32", StringComparison.Ordinal)
            .Replace("learning_rate = 2.0", "learning_rate = 0.3", StringComparison.Ordinal));
        Assert.Equal(0, ProgramRunner.Train(_folder.Path, "mlp.toml").ExitCode);

        var result = ProgramRunner.Chat(_folder.Path, "mlp.toml", "--prompt", "abc");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal("defghabcdefg", result.StandardOutput.TrimEnd('\n'));
    }

    [Fact]
    public void Prompt_mode_takes_sampling_settings_from_set_flags_and_prints_the_same_text_for_the_same_seed()
    {
        Assert.Equal(0, ProgramRunner.Train(_folder.Path, "run.toml").ExitCode);
        string[] hot = ["--prompt", "a", "--set", "sampling.temperature=3", "--set", "sampling.max_new_tokens=40", "--set", "sampling.seed=5"];

        // top_k = 1 keeps only the most likely token, so even at temperature 3 the completion is the greedy one.
        var topOne = ProgramRunner.Chat(_folder.Path, ["run.toml", .. hot, "--set", "sampling.top_k=1"]);
        var first = ProgramRunner.Chat(_folder.Path, ["run.toml", .. hot]);
        var second = ProgramRunner.Chat(_folder.Path, ["run.toml", .. hot]);

        Assert.True(topOne.ExitCode == 0, topOne.StandardError);
        Assert.Equal("bcdefghabcdefghabcdefghabcdefghabcdefgha", topOne.StandardOutput.TrimEnd('\n'));
        Assert.NotEqual(topOne.StandardOutput, first.StandardOutput);
        Assert.Equal(first.StandardOutput, second.StandardOutput);
    }

    [Fact]
    public void A_sampling_value_out_of_range_exits_2_naming_the_setting()
    {
        var result = ProgramRunner.Chat(_folder.Path, "run.toml", "--prompt", "a", "--set", "sampling.top_p=2");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: --set sampling.top_p=2: [sampling] top_p: 2 is out of range: use a number greater than 0 and at most 1", result.StandardError.Trim());
    }

    [Fact]
    public void Missing_weights_exit_2_and_say_how_to_train_them()
    {
        var result = ProgramRunner.Chat(_folder.Path, "run.toml", "--prompt", "a");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: tiny.weights not found: train the model first with make train CONFIG=run.toml", result.StandardError.Trim());
    }

    [Fact]
    public void A_corrupt_weights_file_exits_2_with_a_message_naming_it()
    {
        _folder.Write("tiny.weights", "this is not a weights file at all");

        var result = ProgramRunner.Chat(_folder.Path, "run.toml", "--prompt", "a");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: tiny.weights", result.StandardError.Trim());
        Assert.DoesNotContain("   at ", result.StandardError);
    }
}
