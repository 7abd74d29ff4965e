using System.Globalization;
using System.Text;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Fuzz;

/// <summary>
/// The inputs fuzzing starts from: the shipped run files, and weights files and checkpoints of each model kind as the
/// library writes them (tiny models, so a mutation rarely lands in float data), all made the same way every time.
/// </summary>
public static class Seeds
{
    private static readonly Lazy<string> RepositoryRoot = new(FindRepositoryRoot);
    private static readonly Lazy<Tokenizer> TrainedTokenizer = new(() => Tokenizer.Train(File.ReadAllBytes(Path.Combine(RepositoryRoot.Value, "configs", "corpus.txt")), 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]));
    private static readonly Lazy<RunConfig> CheckpointConfig = new(() => RunConfigLoader.Parse(CheckpointRunFile, "checkpoint-seed.toml"));

    /// <summary>A tokenizer with merges inside GPT-2's pieces and an end-of-text token, trained on the shipped corpus.</summary>
    public static Tokenizer Tokenizer => TrainedTokenizer.Value;

    /// <summary>The run file the checkpoint seeds were written by, and that the checkpoint target resumes.</summary>
    public static RunConfig CheckpointRunConfig => CheckpointConfig.Value;

    private static string CheckpointRunFile => $"""
        [model]
        name = "gpt"
        vocab_size = {Tokenizer.VocabSize}
        context_length = 4
        embedding_size = 8
        layers = 1
        heads = 2
        ffn_ratio = 1
        [training]
        corpus = "corpus.txt"
        steps = 10
        learning_rate = 0.01
        optimizer = "adamw"
        [weights]
        path = "seed.weights"
        """;

    private static readonly (string Name, string Model, string Hyperparameters)[] TinyModels =
    [
        ("bigram", BigramModel.Name, "{}"),
        ("mlp", MlpModel.Name, """{"context_length":2,"embedding_size":2,"hidden_size":4,"hidden_layers":1}"""),
        ("gpt", GptModel.Name, """{"context_length":4,"embedding_size":8,"layers":1,"heads":2,"ffn_ratio":1}"""),
        ("gpt-learned-tied", GptModel.Name, """{"context_length":4,"embedding_size":8,"layers":1,"heads":2,"ffn_ratio":1,"positional":"learned","tie_embeddings":true}"""),
    ];

    public static IEnumerable<(string Name, byte[] Bytes)> WeightsFiles()
    {
        foreach (var (name, modelName, hyperparameters) in TinyModels)
        {
            foreach (var (tokenizerName, tokenizer) in new[] { ("bytes", Tokenizer.ByteLevel), ("bpe", Tokenizer) })
            {
                var model = ModelRegistry.Create(modelName, tokenizer.VocabSize, SettingsSection.FromJson("model", "seed", hyperparameters));
                model.Initialize(new Random(1));
                yield return ($"{name}-{tokenizerName}.safetensors", Written(path => new Cortex(model, tokenizer).Save(path)));
            }
        }
    }

    public static IEnumerable<(string Name, byte[] Bytes)> Checkpoints()
    {
        var config = CheckpointRunConfig;
        var model = ModelRegistry.Create(config.Model.Name, Tokenizer.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(1));
        var cortex = new Cortex(model, Tokenizer);
        var optimizer = Optimizers.Create(config.Training, model.Parameters);
        yield return ("gpt-adamw-step-0.checkpoint", Written(path => Checkpoint.Write(path, cortex, optimizer, 0, double.PositiveInfinity)));
        optimizer.UpdateCount = 3;
        yield return ("gpt-adamw-step-3.checkpoint", Written(path => Checkpoint.Write(path, cortex, optimizer, 3, 4.25)));
    }

    public static IEnumerable<(string Name, byte[] Bytes)> RunFiles()
    {
        foreach (var path in Directory.GetFiles(Path.Combine(RepositoryRoot.Value, "configs"), "*.toml").Order(StringComparer.Ordinal))
        {
            yield return (Path.GetFileName(path), File.ReadAllBytes(path));
        }
        var bigram = File.ReadAllText(Path.Combine(RepositoryRoot.Value, "configs", "bigram.toml"));
        yield return ("bigram-with-overrides.toml", Encoding.UTF8.GetBytes(bigram + "\0training.steps=5\nmodel.name=\"gpt\"\nsampling.top_k=3"));
        yield return ("checkpoint-seed.toml", Encoding.UTF8.GetBytes(CheckpointRunFile));
    }

    public static IEnumerable<(string Name, byte[] Bytes)> TokenizerMetadata()
    {
        yield return ("bytes.json", Encoding.UTF8.GetBytes(Tokenizer.ByteLevel.ToMetadata()));
        yield return ("bpe-300.json", Encoding.UTF8.GetBytes(Tokenizer.ToMetadata()));
        yield return ("gpt2.json", Encoding.UTF8.GetBytes(Tokenizer.Pretrained("gpt2").ToMetadata()));
        yield return ("nested.json", Encoding.UTF8.GetBytes("""{"type":"byte_bpe","merges":[[97,98],[256,99],[257,257]]}"""));
    }

    /// <summary>tiktoken ranks files: the first lines of GPT-2's and a small one with a long token.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> TiktokenFiles()
    {
        var gpt2 = TiktokenRanks.Write(Tokenizer.Pretrained("gpt2").Ranks!).Split('\n');
        yield return ("gpt2-head.tiktoken", Encoding.UTF8.GetBytes(string.Join('\n', gpt2.Take(400)) + "\n"));
        yield return ("small.tiktoken", Encoding.UTF8.GetBytes("YQ== 0\nYg== 1\nYWI= 2\nYWJhYmFiYWI= 3\n"));
    }

    /// <summary>Hugging Face vocab.json and merges.txt, joined by a NUL as the hf-vocab target reads them.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> HuggingFaceFiles()
    {
        yield return ("tiny.hf", Encoding.UTF8.GetBytes("""{"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4, "<|endoftext|>": 5}""" + "\0#version: 0.2\na b\nĠ ab\n"));
    }

    /// <summary>
    /// A Hugging Face tokenizer.json laid out as the tokenizers library saves GPT-2's: the 256 byte tokens, two merges,
    /// <c>&lt;|endoftext|&gt;</c> added; merges as strings, then as arrays.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Bytes)> HuggingFaceTokenizerJson()
    {
        var vocab = new Dictionary<string, int>();
        foreach (var (character, b) in HuggingFaceBpe.UnicodeToByte())
        {
            vocab[character.ToString()] = b;
        }
        (vocab["ab"], vocab["Ġab"], vocab["<|endoftext|>"]) = (256, 257, 258);
        var head = $$"""
            {"version": "1.0", "added_tokens": [{"id": 258, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true}],
             "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false,
               "vocab": {{System.Text.Json.JsonSerializer.Serialize(vocab)}},
            """;
        yield return ("strings.json", Encoding.UTF8.GetBytes(head + """ "merges": ["a b", "Ġ ab"]}}"""));
        yield return ("arrays.json", Encoding.UTF8.GetBytes(head + """ "merges": [["a", "b"], ["Ġ", "ab"]]}}"""));
    }

    public static IEnumerable<(string Name, byte[] Bytes)> SlashCommands() =>
        ((string[])["/temp 0.5", "/topk 40", "/topp 0.9", "/penalty 1.1", "/max 300", "/seed 7", "/reset", "/help", "/temp", "hello"])
        .Select((line, i) => ($"command-{i}.txt", Encoding.UTF8.GetBytes(line)));

    public static IEnumerable<(string Name, byte[] Bytes)> TokenIds()
    {
        var ids = Tokenizer.Encode("ROMEO: But soft, what light through yonder window breaks? é ✓");
        var bytes = new byte[ids.Length * 2];
        Buffer.BlockCopy(ids, 0, bytes, 0, bytes.Length);
        yield return ("encoded.bin", bytes);
        yield return ("every-width.bin", [0, 0, 0, 0, 255, 0, 0, 0, 43, 1, 0, 0, 0, 1, 0, 0]);
    }

    /// <summary>Writes each target's seeds under <paramref name="folder"/>/target name/.</summary>
    public static void WriteAll(string folder, IEnumerable<FuzzTarget> targets)
    {
        foreach (var target in targets)
        {
            var targetFolder = Directory.CreateDirectory(Path.Combine(folder, target.Name)).FullName;
            foreach (var (name, bytes) in target.Seeds())
            {
                File.WriteAllBytes(Path.Combine(targetFolder, name), bytes);
            }
        }
    }

    private static byte[] Written(Action<string> write)
    {
        var folder = Directory.CreateTempSubdirectory("nanollm-seed-");
        try
        {
            var path = Path.Combine(folder.FullName, "file");
            write(path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "NanoLlm.slnx")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"no NanoLlm.slnx above {AppContext.BaseDirectory}"));
    }
}
