using System.Text;
using NanoLlm.Interop;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.IntegrationTests;

/// <summary>A GPT-2 from elsewhere through the programs: import, chat, fine-tune with the shipped recipe, export.</summary>
public sealed class Gpt2ProgramTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // A small random GPT-2 as a Hugging Face directory, on a tokenizer with GPT-2's split and <|endoftext|>.
    private string HuggingFaceCheckpoint()
    {
        var text = File.ReadAllBytes(Path.Combine(ProgramRunner.RepositoryRoot, "configs", "corpus.txt"));
        var tokenizer = Tokenizer.Train(text, 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);
        var model = new Gpt2Shape(Layers: 2, Heads: 2, Channels: 32, ContextLength: 64, VocabSize: tokenizer.VocabSize, FeedForwardSize: 128).CreateModel("test");
        model.Initialize(new Random(3));
        var directory = Path.Combine(_folder.Path, "gpt2-hf");
        new Gpt2Checkpoint(model, tokenizer).WriteHuggingFace(directory);
        return directory;
    }

    [Fact]
    public void Import_chat_fine_tune_and_export_a_gpt2_with_the_shakespeare_recipe()
    {
        var source = HuggingFaceCheckpoint();
        var recipe = Path.Combine(ProgramRunner.RepositoryRoot, "configs", "gpt2-shakespeare.toml");
        var corpus = Path.Combine(ProgramRunner.RepositoryRoot, "configs", "corpus.txt");

        var imported = ProgramRunner.Convert(_folder.Path, "import", source, "gpt2.weights");
        var chat = ProgramRunner.Chat(_folder.Path, recipe, "--set", "training.init_from=gpt2.weights", "--set", "weights.path=gpt2.weights", "--prompt", "ROMEO:");
        var tuned = ProgramRunner.Train(_folder.Path, recipe,
            "--set", "training.init_from=gpt2.weights", "--set", "weights.path=out/tuned.weights", "--set", $"training.corpus={corpus}",
            "--set", "training.steps=4", "--set", "training.grad_accumulation_steps=2", "--set", "training.eval_interval=2", "--set", "training.eval_batches=2");
        var exported = ProgramRunner.Convert(_folder.Path, "export", "out/tuned.weights", "tuned-hf");
        var again = ProgramRunner.Convert(_folder.Path, "import", "tuned-hf", "again.weights");

        Assert.True(imported.ExitCode == 0, imported.StandardError);
        Assert.StartsWith($"imported {source}: GPT-2 of 2 layers, 2 heads, 32 wide, context 64, vocabulary 300", imported.StandardOutput, StringComparison.Ordinal);
        Assert.True(chat.ExitCode == 0, chat.StandardError);
        Assert.NotEmpty(chat.StandardOutput.Trim());
        Assert.True(tuned.ExitCode == 0, tuned.StandardError);
        Assert.True(exported.ExitCode == 0, exported.StandardError);
        Assert.True(again.ExitCode == 0, again.StandardError);
        var (start, end) = (Cortex.Load(Path.Combine(_folder.Path, "gpt2.weights")), Cortex.Load(Path.Combine(_folder.Path, "out", "tuned.weights")));
        Assert.NotEqual(start.Model.Parameters.Values, end.Model.Parameters.Values);
        Assert.Equal(end.Model.Parameters.Values, Cortex.Load(Path.Combine(_folder.Path, "again.weights")).Model.Parameters.Values);
        Assert.Equal(start.Tokenizer.ToMetadata(), end.Tokenizer.ToMetadata());
    }

    // The same checkpoint with tokenizer.json (merges as [left, right] arrays) in place of vocab.json + merges.txt.
    private string WithTokenizerJsonOnly(string source, Action<System.Text.Json.Nodes.JsonObject>? change = null)
    {
        var directory = Path.Combine(_folder.Path, "gpt2-tokenizer-json");
        Directory.CreateDirectory(directory);
        foreach (var file in (string[])["config.json", "model.safetensors", "generation_config.json"])
        {
            File.Copy(Path.Combine(source, file), Path.Combine(directory, file));
        }
        var json = HuggingFaceTokenizerJson.FromPair(source, mergesAsArrays: true);
        change?.Invoke(json);
        HuggingFaceTokenizerJson.Write(json, Path.Combine(directory, "tokenizer.json"));
        return directory;
    }

    [Fact]
    public void A_directory_with_tokenizer_json_instead_of_vocab_and_merges_imports_to_the_same_weights_and_tokenizer()
    {
        var source = HuggingFaceCheckpoint();
        var jsonOnly = WithTokenizerJsonOnly(source);

        var fromPair = ProgramRunner.Convert(_folder.Path, "import", source, "pair.weights");
        var fromJson = ProgramRunner.Convert(_folder.Path, "import", jsonOnly, "json.weights");

        Assert.True(fromPair.ExitCode == 0, fromPair.StandardError);
        Assert.True(fromJson.ExitCode == 0, fromJson.StandardError);
        var (pair, json) = (Cortex.Load(Path.Combine(_folder.Path, "pair.weights")), Cortex.Load(Path.Combine(_folder.Path, "json.weights")));
        Assert.Equal(pair.Model.Parameters.Values, json.Model.Parameters.Values);
        Assert.Equal(pair.Tokenizer.ToMetadata(), json.Tokenizer.ToMetadata());
        const string text = "ROMEO: But soft!<|endoftext|>JULIET: Ay me.";
        Assert.Equal(pair.Tokenizer.Encode(text, SpecialTokenHandling.Allow), json.Tokenizer.Encode(text, SpecialTokenHandling.Allow));
    }

    [Fact]
    public void A_tokenizer_json_that_is_not_byte_level_bpe_is_refused_with_one_line_and_exit_code_2()
    {
        var jsonOnly = WithTokenizerJsonOnly(HuggingFaceCheckpoint(), json => json["model"]!["type"] = "Unigram");

        var result = ProgramRunner.Convert(_folder.Path, "import", jsonOnly, "out.weights");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            $"error: {Path.Combine(jsonOnly, "tokenizer.json")}: model.type is \"Unigram\": NanoLlm reads GPT-2-style byte-level BPE only (model.type \"BPE\")",
            result.StandardError.TrimEnd());
        Assert.False(File.Exists(Path.Combine(_folder.Path, "out.weights")));
    }

    [Fact]
    public void A_pickle_is_refused_with_one_line_and_exit_code_2()
    {
        var pickle = _folder.Write("pytorch_model.bin", "\u0080\u0002c__builtin__");

        var result = ProgramRunner.Convert(_folder.Path, "import", pickle, "out.weights");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {pickle}: a PyTorch pickle, which NanoLlm never loads (unpickling runs code): convert it to model.safetensors first (transformers: model.save_pretrained(dir, safe_serialization=True))",
            result.StandardError.TrimEnd());
        Assert.False(File.Exists(Path.Combine(_folder.Path, "out.weights")));
    }

    [Fact]
    public void A_model_gpt2_cannot_express_is_refused_on_export()
    {
        var config = _folder.Write("run.toml", """
            [model]
            name = "gpt"
            context_length = 8
            embedding_size = 8
            layers = 1
            heads = 2

            [training]
            corpus = "corpus.txt"
            steps = 1
            batch_size = 2
            learning_rate = 1e-3

            [weights]
            path = "tiny.weights"
            """);
        _folder.Write("corpus.txt", new string('a', 200) + Encoding.ASCII.GetString([.. Enumerable.Range(97, 26).Select(i => (byte)i)]));
        var trained = ProgramRunner.Train(_folder.Path, config);

        var result = ProgramRunner.Convert(_folder.Path, "export", "tiny.weights", "hf");

        Assert.True(trained.ExitCode == 0, trained.StandardError);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("sinusoidal positions; GPT-2 learns its positions", result.StandardError, StringComparison.Ordinal);
    }
}
