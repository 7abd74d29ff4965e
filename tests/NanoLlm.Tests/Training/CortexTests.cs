using NanoLlm.Config;
using NanoLlm.Interop;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class CortexTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private RunConfig ShippedBigram(params string[] overrides)
    {
        // The shipped run file, with paths made absolute so the test does not depend on the working directory.
        string[] paths = [$"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={_folder.File("bigram.weights")}"];
        return RunConfigLoader.Load(Repository.PathOf("configs/bigram.toml"), [.. paths, .. overrides]);
    }

    [Fact]
    public void The_shipped_bigram_learns_the_corpus_well_below_the_uniform_loss()
    {
        var (cortex, summary) = Cortex.Train(ShippedBigram(), null, CancellationToken.None);

        // Uniform over 256 bytes is ln 256 = 5.545 nats; a byte bigram of English prose reaches about 2.5.
        var uniform = Math.Log(256);
        Assert.True(summary.Loss < uniform - 2.5, $"training loss {summary.Loss:F3} should be below {uniform - 2.5:F3}");
        Assert.NotNull(summary.Validation);
        Assert.True(summary.Validation.Value.Loss < uniform - 2.0, $"validation loss {summary.Validation.Value.Loss:F3} should be below {uniform - 2.0:F3}");
        Assert.Equal(256, cortex.Tokenizer.VocabSize);
    }

    [Fact]
    public void Training_twice_with_the_same_seed_gives_identical_weights()
    {
        var (first, _) = Cortex.Train(ShippedBigram("training.epochs=2"), null, CancellationToken.None);
        var (second, _) = Cortex.Train(ShippedBigram("training.epochs=2"), null, CancellationToken.None);

        Assert.Equal(first.Model.Parameters.Values, second.Model.Parameters.Values);
    }

    [Fact]
    public void Save_then_load_gives_identical_parameters_and_tokenizer()
    {
        var (trained, _) = Cortex.Train(ShippedBigram("training.epochs=1", "model.vocab_size=300"), null, CancellationToken.None);

        var loaded = Cortex.Load(_folder.File("bigram.weights"));

        Assert.Equal(trained.Model.Parameters.Values, loaded.Model.Parameters.Values);
        Assert.Equal(trained.Tokenizer.Merges, loaded.Tokenizer.Merges);
        Assert.Equal(300, loaded.Model.Spec.VocabSize);
    }

    [Fact]
    public void A_split_pattern_vocabulary_with_special_tokens_trains_saves_and_loads()
    {
        var (trained, _) = Cortex.Train(
            ShippedBigram("training.epochs=1", "model.vocab_size=300", "tokenizer.split=gpt2", "tokenizer.special_tokens=[\"<|endoftext|>\"]"), null, CancellationToken.None);

        var loaded = Cortex.Load(_folder.File("bigram.weights"));

        Assert.Equal(SplitPattern.Gpt2, loaded.Tokenizer.Split);
        Assert.Equal(trained.Tokenizer.Merges, loaded.Tokenizer.Merges);
        Assert.Equal(299, loaded.Tokenizer.EndOfText);
        Assert.Equal(300, loaded.Model.Spec.VocabSize);
    }

    [Fact]
    public void A_pretrained_vocabulary_sets_the_model_vocab_size_and_is_stored_by_name()
    {
        // A bigram over 50257 tokens would be a 50257² table: the GPT's embedding is the size that scales.
        var config = ShippedBigram("tokenizer.pretrained=gpt2", "model.name=gpt", "training.steps=1");
        var unset = config with { Model = config.Model with { VocabSizeGiven = false } };

        var cortex = Cortex.Initialize(unset);
        cortex.Save(_folder.File("bigram.weights"));

        Assert.Equal(50257, cortex.Model.Spec.VocabSize);
        Assert.Equal([15496, 995], Cortex.Load(_folder.File("bigram.weights")).Tokenizer.Encode("Hello world"));
    }

    [Fact]
    public void A_pretrained_folder_with_only_a_tokenizer_json_gives_the_tokenizer_of_the_vocab_and_merges_pair()
    {
        var trained = Tokenizer.Train(File.ReadAllBytes(Repository.PathOf("configs/corpus.txt")), 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("pair"), trained);
        HuggingFaceTokenizerJson.Write(HuggingFaceTokenizerJson.FromPair(_folder.File("pair"), mergesAsArrays: true), _folder.File("json/tokenizer.json"));

        var fromPair = Cortex.BuildTokenizer(ShippedBigram($"tokenizer.pretrained={_folder.File("pair")}"));
        var fromJson = Cortex.BuildTokenizer(ShippedBigram($"tokenizer.pretrained={_folder.File("json")}"));
        var withExtra = Cortex.BuildTokenizer(ShippedBigram($"tokenizer.pretrained={_folder.File("json")}", "tokenizer.special_tokens=[\"<|im_start|>\"]"));
        var otherSplit = Assert.Throws<ConfigException>(() => Cortex.BuildTokenizer(ShippedBigram($"tokenizer.pretrained={_folder.File("json")}", "tokenizer.split=gpt4")));

        Assert.Equal(fromPair.ToMetadata(), fromJson.ToMetadata());
        Assert.Equal([.. trained.Encode("The keeper"), 300], withExtra.Encode("The keeper<|im_start|>", SpecialTokenHandling.Allow));
        Assert.Contains("[tokenizer] pretrained: ", otherSplit.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json is split as GPT-2 splits (its byte-level pre-tokenizer), not by gpt4: remove [tokenizer] split", otherSplit.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tokenizer.pretrained=gpt2", "[model] vocab_size = 256, but the vocabulary gpt2 has 50257 tokens")]
    [InlineData("tokenizer.pretrained=cl100k_base", "has 100277 tokens; a model holds at most 65536")]
    [InlineData("tokenizer.pretrained=missing.tiktoken", "[tokenizer] pretrained: a ranks file needs [tokenizer] split")]
    [InlineData("tokenizer.special_tokens=[\"e\"]", "[tokenizer] special_tokens: special token \"e\" spells a token of the vocabulary")]
    public void A_tokenizer_that_cannot_be_built_is_a_config_error_naming_the_key(string assignment, string expected)
    {
        var overrides = assignment.Contains("special", StringComparison.Ordinal) ? new[] { assignment, "model.vocab_size=300" } : [assignment];
        var config = ShippedBigram(overrides);

        var message = Assert.Throws<ConfigException>(() => Cortex.Initialize(config)).Message;

        Assert.Contains(expected, message);
    }

    [Fact]
    public void A_missing_ranks_file_is_a_config_error_naming_it()
    {
        var message = Assert.Throws<ConfigException>(() => Cortex.Initialize(ShippedBigram("tokenizer.pretrained=nowhere.tiktoken", "tokenizer.split=gpt2"))).Message;

        Assert.Contains("[tokenizer] pretrained: nowhere.tiktoken: file not found", message);
    }

    [Fact]
    public void A_saved_and_loaded_mlp_gives_the_same_logits()
    {
        var config = RunConfigLoader.Load(Repository.PathOf("configs/mlp.toml"),
            [$"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={_folder.File("mlp.weights")}", "training.steps=20"]);
        var (trained, _) = Cortex.Train(config, null, CancellationToken.None);

        var loaded = Cortex.Load(_folder.File("mlp.weights"));

        Assert.Equal("mlp", loaded.Model.Spec.Name);
        Assert.Equal(trained.Model.Spec.ContextLength, loaded.Model.Spec.ContextLength);
        var (trainedInference, loadedInference) = (trained.Model.StartInference(), loaded.Model.StartInference());
        foreach (var token in "To be, or not"u8)
        {
            Assert.Equal(trainedInference.Feed(token).ToArray(), loadedInference.Feed(token).ToArray());
        }
    }

    [Fact]
    public void Generation_with_the_same_seed_streams_the_same_text()
    {
        var (cortex, _) = Cortex.Train(ShippedBigram("training.epochs=5"), null, CancellationToken.None);
        var sampling = new SamplingSettings(MaxNewTokens: 50, Temperature: 1.0, Seed: 3);

        var first = string.Concat(cortex.Generate("The ", sampling));
        var second = string.Concat(cortex.Generate("The ", sampling));
        var otherSeed = string.Concat(cortex.Generate("The ", sampling with { Seed = 4 }));

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
        // 50 byte tokens decode to at most 50 characters (fewer where bytes join into one UTF-8 character).
        Assert.InRange(first.Length, 1, 50);
    }

    [Fact]
    public void Cancelling_stops_early_and_still_writes_the_weights()
    {
        using var cancellation = new CancellationTokenSource();
        var (_, summary) = Cortex.Train(
            ShippedBigram(),
            progress =>
            {
                if (progress.Step == 10)
                {
                    cancellation.Cancel();
                }
            },
            cancellation.Token);

        Assert.True(summary.Interrupted);
        Assert.Equal(10, summary.Steps);
        Assert.True(File.Exists(_folder.File("bigram.weights")));
    }

    [Fact]
    public void Loading_weights_whose_shapes_do_not_match_their_spec_is_refused()
    {
        Cortex.Train(ShippedBigram("training.epochs=1"), null, CancellationToken.None);
        var path = _folder.File("bigram.weights");
        var file = SafeTensors.Read(path);
        var metadata = file.Metadata.ToDictionary();
        SafeTensors.Write(path, [new NamedTensor("token_logits", [16, 16], new float[256])], metadata);

        var message = Assert.Throws<WeightsFileException>(() => Cortex.Load(path)).Message;

        Assert.Contains("token_logits has shape [16, 16], the model needs [256, 256]", message);
    }

    [Fact]
    public void Loading_weights_that_hold_a_nan_is_refused_naming_the_tensor()
    {
        Cortex.Train(ShippedBigram("training.epochs=1"), null, CancellationToken.None);
        var path = _folder.File("bigram.weights");
        var file = SafeTensors.Read(path);
        var values = file.ToArray("token_logits");
        values[300] = float.NaN;
        SafeTensors.Write(path, [new NamedTensor("token_logits", [256, 256], values)], file.Metadata);

        var message = Assert.Throws<WeightsFileException>(() => Cortex.Load(path)).Message;

        Assert.Equal($"{path}: tensor token_logits holds NaN at index 300: the file is corrupted or was saved from a diverged run", message);
    }

    [Fact]
    public void Loading_weights_whose_metadata_describes_a_larger_model_than_the_file_holds_is_refused_before_building_it()
    {
        var path = _folder.File("small.weights");
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Cortex.FormatName,
            ["format_version"] = Cortex.FormatVersion,
            ["model"] = "gpt",
            ["hyperparameters"] = """{"layers":256,"embedding_size":16384,"heads":1}""",
            ["tokenizer"] = Bpe.ByteLevel.ToMetadata(),
        };
        SafeTensors.Write(path, [new NamedTensor("wte", [4], new float[4])], metadata);
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var message = Assert.Throws<WeightsFileException>(() => Cortex.Load(path)).Message;

        Assert.StartsWith($"{path}: the metadata is not usable: ", message);
        Assert.EndsWith("parameters, more than 1048580: the file's tensors are far smaller", message);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 16 << 20);
    }
}
