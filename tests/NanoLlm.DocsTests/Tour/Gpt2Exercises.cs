using System.Buffers.Binary;
using NanoLlm.Config;
using NanoLlm.DocsTests.Support;
using NanoLlm.Interop;
using NanoLlm.Model;
using NanoLlm.Tokenization;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/11-gpt2-checkpoints.md.</summary>
public sealed class Gpt2Exercises : IDisposable
{
    private readonly ShippedRun _run = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("nanollm-docs-gpt2-").FullName;

    public void Dispose()
    {
        _run.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Gpt2_124m_has_148_tensors_of_which_48_are_transposed()
    {
        var table = Gpt2Names.Table(layers: 12, tiedHead: true);

        Assert.Equal(148, table.Count);
        Assert.Equal(48, table.Count(e => e.Conv1D));
        Assert.All(table.Where(e => e.Conv1D), e => Assert.EndsWith(".weight", e.NanoLlm, StringComparison.Ordinal));
    }

    [Fact]
    public void Llm_c_pads_the_vocabulary_to_a_multiple_of_128()
    {
        var text = File.ReadAllBytes(Repository.PathOf("configs/corpus.txt"));
        var tokenizer = Tokenizer.Train(text, 300, SplitPattern.Gpt2);
        var model = new Gpt2Shape(Layers: 1, Heads: 2, Channels: 16, ContextLength: 8, VocabSize: 300, FeedForwardSize: 64).CreateModel("exercise");
        model.Initialize(new Random(1));
        var path = Path.Combine(_folder, "model.bin");

        new Gpt2Checkpoint(model, tokenizer).WriteLlmc(path);

        var header = File.ReadAllBytes(path);
        Assert.Equal(300, BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(3 * sizeof(int))));
        Assert.Equal(384, BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(7 * sizeof(int))));
        Assert.Equal(50_304, (50_257 + LlmcGpt2.VocabularyMultiple - 1) / LlmcGpt2.VocabularyMultiple * LlmcGpt2.VocabularyMultiple);
    }

    [Fact]
    public void Sinusoidal_positions_have_no_gpt2_form()
    {
        var config = _run.Load("configs/gpt.toml");
        var model = ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters);
        var learned = _run.Load("configs/gpt.toml", "model.positional=learned");
        var learnedModel = ModelRegistry.Create(learned.Model.Name, learned.Model.VocabSize, learned.Model.Hyperparameters);

        var positions = Assert.Throws<ConfigException>(() => Gpt2Checkpoint.Of(model, Tokenizer.ByteLevel, "gpt.toml"));
        var split = Assert.Throws<ConfigException>(() => Gpt2Checkpoint.Of(learnedModel, Tokenizer.ByteLevel, "gpt.toml"));

        Assert.Contains("positional = \"learned\"", positions.Message, StringComparison.Ordinal);
        Assert.Contains("GPT-2's split", split.Message, StringComparison.Ordinal);
    }
}
