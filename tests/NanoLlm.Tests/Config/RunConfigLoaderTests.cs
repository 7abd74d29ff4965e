using NanoLlm.Config;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Config;

public sealed class RunConfigLoaderTests : IDisposable
{
    private const string BigramRun = """
        [model]
        name = "bigram"
        vocab_size = 256

        [training]
        corpus = "configs/corpus.txt"
        epochs = 200
        learning_rate = 1.0

        [weights]
        path = "target/bigram.weights"
        """;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private RunConfig LoadText(string text, params string[] overrides) =>
        RunConfigLoader.Load(_folder.Write("run.toml", text), overrides);

    private string LoadError(string text, params string[] overrides) =>
        Assert.Throws<ConfigException>(() => LoadText(text, overrides)).Message;

    [Fact]
    public void Loads_the_bigram_run_file_with_defaults_for_missing_optional_keys()
    {
        var config = LoadText(BigramRun);

        Assert.Equal("bigram", config.Model.Name);
        Assert.Equal(256, config.Model.VocabSize);
        Assert.Equal("configs/corpus.txt", config.Training.Corpus);
        Assert.Equal(200, config.Training.Epochs);
        Assert.Equal(0, config.Training.Steps);
        Assert.Equal(1.0, config.Training.LearningRate);
        Assert.Equal(32, config.Training.BatchSize);
        Assert.Equal(0.1, config.Training.ValFraction);
        Assert.Equal("target/bigram.weights", config.Weights.Path);
        Assert.Equal(200, config.Sampling.MaxNewTokens);
    }

    [Theory]
    [InlineData("\\u")]
    [InlineData("\\uD8")]
    [InlineData("\\U0001F6")]
    public void A_unicode_escape_cut_short_by_the_end_of_the_file_is_invalid_toml_naming_the_line(string escape)
    {
        var message = LoadError(BigramRun.Replace("\"target/bigram.weights\"", $"\"{escape}", StringComparison.Ordinal));

        Assert.Equal(
            $"{_folder.File("run.toml")}:11: invalid TOML: a \\u or \\U escape is cut short by the end of the file or names no Unicode character",
            message);
    }

    [Fact]
    public void Arrays_nested_deeper_than_the_toml_reader_goes_are_invalid_toml()
    {
        var message = LoadError(BigramRun + $"\nseed = {new string('[', 100)}{new string(']', 100)}\n");

        Assert.StartsWith($"{_folder.File("run.toml")}: invalid TOML: The maximum depth of 64 has been exceeded", message);
    }

    [Fact]
    public void An_override_nested_deeper_than_the_toml_reader_goes_is_taken_as_plain_text()
    {
        var nested = new string('[', 100) + new string(']', 100);

        var config = LoadText(BigramRun, $"weights.path={nested}");

        Assert.Equal(nested, config.Weights.Path);
    }

    [Fact]
    public void An_override_with_a_unicode_escape_cut_short_is_taken_as_plain_text()
    {
        var config = LoadText(BigramRun, "weights.path=\"\\uDC");

        Assert.Equal("\"\\uDC", config.Weights.Path);
    }

    [Fact]
    public void A_typo_in_a_required_key_names_the_file_line_and_key_and_suggests_the_right_one()
    {
        var message = LoadError(BigramRun.Replace("learning_rate", "learnig_rate"));

        Assert.Equal($"{_folder.File("run.toml")}:8: unknown key [training] learnig_rate: did you mean learning_rate?", message);
    }

    [Fact]
    public void A_typo_in_an_optional_key_names_the_line_and_lists_the_known_keys()
    {
        var message = LoadError(BigramRun.Replace("learning_rate = 1.0", "learning_rate = 1.0\nbatch_sise = 8"));

        Assert.StartsWith($"{_folder.File("run.toml")}:9: unknown key [training] batch_sise: the keys of [training] here are ", message);
        Assert.Contains("batch_size", message);
    }

    [Fact]
    public void A_wrong_type_names_the_line_and_key()
    {
        var message = LoadError(BigramRun.Replace("epochs = 200", "epochs = \"many\""));

        Assert.Equal($"{_folder.File("run.toml")}:7: [training] epochs: \"many\" is not a whole number (no quotes, no decimal point)", message);
    }

    [Fact]
    public void A_missing_required_key_names_the_section_and_how_to_add_it()
    {
        var message = LoadError(BigramRun.Replace("path = \"target/bigram.weights\"", ""));

        Assert.Contains(":10: missing key [weights] path: add path = ", message);
    }

    [Fact]
    public void A_negative_learning_rate_is_out_of_range()
    {
        var message = LoadError(BigramRun.Replace("learning_rate = 1.0", "learning_rate = -0.5"));

        Assert.Contains(":8: [training] learning_rate: -0.5 is out of range: use a number greater than 0", message);
    }

    [Theory]
    [InlineData(255)]
    [InlineData(65_537)]
    public void A_vocab_size_outside_256_to_65536_is_out_of_range(int vocabSize)
    {
        var message = LoadError(BigramRun.Replace("vocab_size = 256", $"vocab_size = {vocabSize}"));

        Assert.Contains($":3: [model] vocab_size: {vocabSize} is out of range: use a whole number from 256 to 65536", message);
    }

    [Fact]
    public void A_missing_file_says_so_and_names_it()
    {
        var path = _folder.File("absent.toml");

        var message = Assert.Throws<ConfigException>(() => RunConfigLoader.Load(path)).Message;

        Assert.Equal($"{path}: cannot read the run file (file not found): check the CONFIG path", message);
    }

    [Fact]
    public void Invalid_toml_names_the_line()
    {
        var message = LoadError(BigramRun.Replace("[training]", "[training"));

        Assert.StartsWith($"{_folder.File("run.toml")}:5: invalid TOML:", message);
    }

    [Fact]
    public void An_unknown_section_lists_the_known_ones()
    {
        var message = LoadError(BigramRun + "\n[trainig]\nsteps = 3\n");

        Assert.Contains(":12: unknown section [trainig]: the sections are [model], [training], [weights], [sampling], [tokenizer], [server], [prepare]", message);
    }

    [Fact]
    public void Both_steps_and_epochs_is_an_error()
    {
        var message = LoadError(BigramRun.Replace("epochs = 200", "epochs = 200\nsteps = 10"));

        Assert.Contains("[training] needs exactly one of steps or epochs", message);
    }

    [Fact]
    public void Set_overrides_a_key_with_a_typed_value()
    {
        var config = LoadText(BigramRun.Replace("epochs = 200", "steps = 5"), "training.steps=7", "weights.path=elsewhere.weights");

        Assert.Equal(7, config.Training.Steps);
        Assert.Equal("elsewhere.weights", config.Weights.Path);
    }

    [Theory]
    [InlineData("training.steps=30", 30, 0)]
    [InlineData("training.epochs=3", 0, 3)]
    public void Setting_steps_or_epochs_replaces_the_other(string assignment, int steps, int epochs)
    {
        var run = assignment.Contains("steps", StringComparison.Ordinal) ? BigramRun : BigramRun.Replace("epochs = 200", "steps = 5");

        var config = LoadText(run, assignment);

        Assert.Equal((steps, epochs), (config.Training.Steps, config.Training.Epochs));
    }

    [Fact]
    public void A_bad_set_value_names_the_setting()
    {
        var message = LoadError(BigramRun, "training.learning_rate=-1");

        Assert.Equal("--set training.learning_rate=-1: [training] learning_rate: -1 is out of range: use a number greater than 0 and at most 1000", message);
    }

    [Fact]
    public void Sampling_keys_left_out_are_off_and_the_rest_take_their_defaults()
    {
        var config = LoadText(BigramRun);

        Assert.Equal(new SamplingSettings(MaxNewTokens: 200, Temperature: 1.0, TopK: 0, TopP: 1.0, RepetitionPenalty: 1.0, Seed: 1337), config.Sampling);
    }

    [Fact]
    public void Every_sampling_key_is_read()
    {
        var config = LoadText(BigramRun + """

            [sampling]
            max_new_tokens = 300
            temperature = 0.7
            top_k = 40
            top_p = 0.9
            repetition_penalty = 1.2
            seed = 7
            """);

        Assert.Equal(new SamplingSettings(MaxNewTokens: 300, Temperature: 0.7, TopK: 40, TopP: 0.9, RepetitionPenalty: 1.2, Seed: 7), config.Sampling);
    }

    [Fact]
    public void Set_overrides_sampling_keys()
    {
        var config = LoadText(BigramRun, "sampling.top_k=40", "sampling.top_p=0.95", "sampling.repetition_penalty=1.1");

        Assert.Equal((40, 0.95, 1.1), (config.Sampling.TopK, config.Sampling.TopP, config.Sampling.RepetitionPenalty));
    }

    [Theory]
    [InlineData("temperature = -0.1", "temperature: -0.1 is out of range: use a number at least 0 and at most 100")]
    [InlineData("top_k = -1", "top_k: -1 is out of range: use a whole number from 0 to 65536")]
    [InlineData("top_p = 0", "top_p: 0 is out of range: use a number greater than 0 and at most 1")]
    [InlineData("top_p = 1.5", "top_p: 1.5 is out of range: use a number greater than 0 and at most 1")]
    [InlineData("repetition_penalty = 0.9", "repetition_penalty: 0.9 is out of range: use a number at least 1 and at most 100")]
    [InlineData("max_new_tokens = 0", "max_new_tokens: 0 is out of range: use a whole number from 1 to 1000000")]
    public void A_sampling_value_out_of_range_names_the_file_line_and_key(string line, string problem)
    {
        var message = LoadError(BigramRun + $"\n\n[sampling]\n{line}\n");

        Assert.Equal($"{_folder.File("run.toml")}:14: [sampling] {problem}", message);
    }

    [Fact]
    public void An_unknown_sampling_key_lists_the_sampling_keys()
    {
        var message = LoadError(BigramRun + "\n\n[sampling]\ntop_q = 0.9\n");

        Assert.Equal(
            $"{_folder.File("run.toml")}:14: unknown key [sampling] top_q: the keys of [sampling] here are max_new_tokens, repetition_penalty, seed, temperature, top_k, top_p",
            message);
    }

    [Fact]
    public void A_run_file_without_a_tokenizer_section_keeps_its_meaning()
    {
        Assert.Equal("bytes", LoadText(BigramRun).Tokenizer.Kind);
        Assert.Equal(new TokenizerSettings("bpe", null, null, []) { Origin = _folder.File("run.toml") }, LoadText(BigramRun, "model.vocab_size=512").Tokenizer);
    }

    [Fact]
    public void The_tokenizer_section_is_read()
    {
        var tokenizer = LoadText(WithTokenizer(1024, "kind = \"bpe\"\nsplit = \"gpt4\"\nspecial_tokens = [\"<|endoftext|>\", \"<|pad|>\"]")).Tokenizer;

        Assert.Equal(("bpe", "gpt4", (string?)null), (tokenizer.Kind, tokenizer.Split, tokenizer.Pretrained));
        Assert.Equal(["<|endoftext|>", "<|pad|>"], tokenizer.SpecialTokens);
    }

    [Theory]
    [InlineData("split = \"gpt3\"", "[tokenizer] split: \"gpt3\" is not one of \"none\", \"gpt2\", \"gpt4\", \"o200k\"")]
    [InlineData("kind = \"words\"", "[tokenizer] kind: \"words\" is not one of \"bytes\", \"bpe\"")]
    [InlineData("kind = \"bytes\"\nsplit = \"gpt2\"", "[tokenizer] split needs kind = \"bpe\"")]
    [InlineData("special_tokens = [\"<|a|>\", \"<|a|>\"]", "\"<|a|>\" is listed twice")]
    [InlineData("special_tokens = [1]", "a list here holds strings only")]
    [InlineData("special_tokens = \"<|a|>\"", "[tokenizer] special_tokens: \"<|a|>\" is not a list of strings")]
    [InlineData("splt = \"gpt2\"", "unknown key [tokenizer] splt")]
    public void A_bad_tokenizer_key_names_the_file_line_and_key(string lines, string expected)
    {
        var message = LoadError(WithTokenizer(300, lines));

        Assert.Contains(expected, message);
        Assert.StartsWith(_folder.File("run.toml") + ":", message);
    }

    [Fact]
    public void Bytes_with_a_vocab_size_above_256_is_an_error()
    {
        var message = LoadError(WithTokenizer(300, "kind = \"bytes\""));

        Assert.Contains("[model] vocab_size = 300 with [tokenizer] kind = \"bytes\"", message);
    }

    private static string WithTokenizer(int vocabSize, string lines) =>
        BigramRun.Replace("vocab_size = 256", $"vocab_size = {vocabSize}", StringComparison.Ordinal) + "\n[tokenizer]\n" + lines + "\n";

    [Fact]
    public void Server_keys_left_out_take_their_defaults_on_localhost()
    {
        var config = LoadText(BigramRun);

        Assert.Equal(new ServerSettings(Host: "127.0.0.1", Port: 8000, MaxTokens: 2048, MaxBatch: 16, TimeoutSeconds: 120, MaxBodyBytes: 1 << 20), config.Server);
    }

    [Fact]
    public void Every_server_key_is_read_and_set_overrides_them()
    {
        var config = LoadText(BigramRun + """

            [server]
            host = "0.0.0.0"
            port = 9000
            max_tokens = 64
            max_batch = 4
            timeout_seconds = 2.5
            max_body_bytes = 4096
            """, "server.port=0");

        Assert.Equal(new ServerSettings(Host: "0.0.0.0", Port: 0, MaxTokens: 64, MaxBatch: 4, TimeoutSeconds: 2.5, MaxBodyBytes: 4096), config.Server);
    }

    [Fact]
    public void A_server_value_out_of_range_names_the_file_line_and_key()
    {
        var message = LoadError(BigramRun + "\n\n[server]\nport = 70000\n");

        Assert.Equal($"{_folder.File("run.toml")}:14: [server] port: 70000 is out of range: use a whole number from 0 to 65535", message);
    }

    [Theory]
    [InlineData("configs/bigram.toml")]
    [InlineData("configs/mlp.toml")]
    [InlineData("configs/gpt.toml")]
    [InlineData("configs/gpt2.toml")]
    [InlineData("configs/shakespeare-bpe.toml")]
    public void The_shipped_run_files_still_load(string runFile)
    {
        var config = RunConfigLoader.Load(Repository.PathOf(runFile));

        Assert.Equal(0.8, config.Sampling.Temperature);
    }

    [Fact]
    public void Model_keys_other_than_name_and_vocab_size_are_left_for_the_model_to_read()
    {
        var config = LoadText(BigramRun.Replace("vocab_size = 256", "vocab_size = 256\ncontext_length = 8"));

        Assert.Equal(8, config.Model.Hyperparameters.GetInt("context_length", null, 1, 100));
    }

    [Fact]
    public void A_prepare_section_gets_defaults_and_training_reads_a_held_out_corpus()
    {
        var config = LoadText(BigramRun.Replace("epochs = 200", "epochs = 200\nval_corpus = \"shards/val_*.bin\"") + "\n\n[prepare]\ninput = \"books/\"\noutput = \"shards\"\n");

        Assert.Equal("shards/val_*.bin", config.Training.ValCorpus);
        Assert.Equal(new PrepareSettings("books/", "shards", "", 0.1, 100_000_000, "", 4 << 20), config.Prepare);
        Assert.Null(LoadText(BigramRun).Prepare);
        Assert.Equal("", LoadText(BigramRun).Training.ValCorpus);
    }

    [Fact]
    public void Prepare_takes_held_out_files_or_a_fraction_not_both()
    {
        var message = LoadError(BigramRun + "\n[prepare]\ninput = \"a\"\noutput = \"b\"\nval_input = \"c\"\nval_fraction = 0.2\n");

        Assert.Equal(_folder.File("run.toml") + ":16: [prepare] val_fraction and val_input exclude each other: keep one", message);
    }

    [Fact]
    public void Muon_wsd_and_a_time_budget_load_with_their_defaults()
    {
        var config = LoadText(
            BigramRun.Replace("epochs = 200\n", "", StringComparison.Ordinal),
            "training.optimizer=\"muon\"", "training.lr_schedule=\"wsd\"", "training.time_budget_minutes=10");

        Assert.Equal(TrainingSettings.MuonName, config.Training.Optimizer);
        Assert.Equal(new MuonSettings(LearningRate: 0.02, Momentum: 0.95, WeightDecay: 0), config.Training.Muon);
        Assert.Equal(TrainingSettings.WsdSchedule, config.Training.Schedule);
        Assert.Equal(0.2, config.Training.DecayFraction);
        Assert.Equal(10, config.Training.TimeBudgetMinutes);
        Assert.Equal((0, 0), (config.Training.Steps, config.Training.Epochs));
        Assert.False(config.Training.AdamW.DecayEmbeddings);
    }

    [Fact]
    public void Muons_keys_and_the_embeddings_decay_are_read()
    {
        var config = LoadText(
            BigramRun, "training.optimizer=muon", "training.muon_learning_rate=0.05", "training.muon_momentum=0.9",
            "training.muon_weight_decay=0.01", "training.weight_decay_embeddings=true");

        Assert.Equal(new MuonSettings(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 0.01), config.Training.Muon);
        Assert.True(config.Training.AdamW.DecayEmbeddings);
    }

    [Theory]
    [InlineData("training.muon_learning_rate=0", "--set training.muon_learning_rate=0: [training] muon_learning_rate: 0 is out of range")]
    [InlineData("training.muon_momentum=\"high\"", "[training] muon_momentum")]
    [InlineData("training.decay_fraction=1.5", "[training] decay_fraction: 1.5 is out of range")]
    [InlineData("training.optimizer=adam", "[training] optimizer: \"adam\" is not one of \"sgd\", \"adamw\", \"muon\"")]
    [InlineData("training.lr_schedule=linear", "[training] lr_schedule: \"linear\" is not one of \"constant\", \"cosine\", \"wsd\"")]
    [InlineData("training.time_budget_minutes=-1", "[training] time_budget_minutes: -1 is out of range")]
    [InlineData("training.weight_decay_embeddings=1", "[training] weight_decay_embeddings")]
    public void A_new_key_out_of_place_or_range_is_refused_in_one_line_naming_it(string assignment, string expected)
    {
        var message = LoadError(BigramRun, assignment);

        Assert.Contains(expected, message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void A_zero_decay_fraction_a_momentum_of_one_and_decay_steps_with_a_budget_are_refused()
    {
        Assert.Contains(
            "[training] decay_fraction: 0 is out of range",
            LoadError(BigramRun, "training.lr_schedule=wsd", "training.decay_fraction=0"));
        Assert.Contains(
            "[training] muon_momentum: 1 is out of range",
            LoadError(BigramRun, "training.optimizer=muon", "training.muon_momentum=1"));
        Assert.Contains(
            "[training] decay_steps with time_budget_minutes: the schedule ends when the budget does",
            LoadError(BigramRun, "training.time_budget_minutes=5", "training.lr_schedule=cosine", "training.decay_steps=100"));
    }

    [Fact]
    public void A_time_budget_may_cap_its_steps_but_a_run_needs_one_of_them()
    {
        Assert.Equal((30, 2.5), (LoadText(BigramRun, "training.steps=30", "training.time_budget_minutes=2.5").Training is var t ? (t.Steps, t.TimeBudgetMinutes) : default));
        Assert.Contains(
            "[training] needs exactly one of steps or epochs, or time_budget_minutes",
            LoadError(BigramRun.Replace("epochs = 200\n", "", StringComparison.Ordinal)));
    }
}
