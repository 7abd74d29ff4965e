using NanoLlm.Data;
using NanoLlm.DocsTests.Support;
using NanoLlm.Model;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/08-tiny-shakespeare.md, on the shipped corpus.</summary>
public sealed class ShakespeareExercises : IDisposable
{
    private readonly ShippedRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void A_byte_models_bits_per_byte_are_its_loss_over_ln_2()
    {
        var config = _run.Load("configs/gpt.toml");
        var model = ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(1));

        var evaluation = Evaluate(model, Bpe.ByteLevel);

        Assert.Equal(evaluation.Loss / Math.Log(2), evaluation.BitsPerByte, 6);
        Assert.Equal(2.1772, 1.5091 / Math.Log(2), 4);
    }

    [Fact]
    public void A_model_that_knows_nothing_scores_8_bits_per_byte()
    {
        var config = _run.Load("configs/bigram.toml");
        var model = ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(1));

        Assert.Equal(8, Evaluate(model, Bpe.ByteLevel).BitsPerByte, 5);
    }

    [Fact]
    public void Per_byte_the_bpe_bigram_beats_the_byte_bigram_it_loses_to_per_token()
    {
        var (_, bytes) = Cortex.Train(_run.Load("configs/bigram.toml"), null, CancellationToken.None);
        var (_, pairs) = Cortex.Train(_run.Load("configs/bigram.toml", "model.vocab_size=512"), null, CancellationToken.None);

        var (byteLevel, bpe) = (bytes.Validation!.Value, pairs.Validation!.Value);
        Assert.True(bpe.Loss > byteLevel.Loss + 1, $"nats per token: BPE {bpe.Loss:F4}, bytes {byteLevel.Loss:F4}");
        Assert.True(bpe.BitsPerByte < byteLevel.BitsPerByte - 0.1, $"bits per byte: BPE {bpe.BitsPerByte:F4}, bytes {byteLevel.BitsPerByte:F4}");
    }

    private Evaluation Evaluate(ILanguageModel model, Bpe tokenizer)
    {
        var config = _run.Load("configs/gpt.toml");
        var tokens = tokenizer.Encode(File.ReadAllText(Repository.PathOf("configs/corpus.txt")));
        var bytesPerToken = Enumerable.Range(0, tokenizer.VocabSize).Select(t => tokenizer.TokenBytes(t).Length).ToArray();
        var (train, validation) = TokenSplit.Split(tokens, bytesPerToken, config.Training.ValFraction);
        var trainer = new Trainer(model, new Sgd(), config.Training, train.Length);
        return trainer.Evaluate(validation)!.Value;
    }
}
