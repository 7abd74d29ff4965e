using NanoLlm.DocsTests.Support;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/03-mlp.md.</summary>
public sealed class MlpExercises : IDisposable
{
    private readonly ShippedRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void Eight_bytes_of_context_beat_one()
    {
        // The shipped run stops at step 1,250 here, where its validation loss is lowest.
        var (_, eight) = Cortex.Train(_run.Load("configs/mlp.toml", "training.steps=1250"), null, CancellationToken.None);
        var (_, one) = Cortex.Train(_run.Load("configs/mlp.toml", "training.steps=1250", "model.context_length=1"), null, CancellationToken.None);

        var (eightBits, oneBits) = (eight.Validation!.Value.BitsPerByte, one.Validation!.Value.BitsPerByte);
        Assert.True(eightBits < oneBits - 0.1, $"context 8: {eightBits:F4} bits per byte, context 1: {oneBits:F4}");
    }

    [Fact]
    public void The_shipped_mlp_has_29008_parameters()
    {
        var config = _run.Load("configs/mlp.toml");

        var model = ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters);

        Assert.Equal(29_008, model.Parameters.Count);
        Assert.Equal([4_112, 8_192, 64, 16_384, 256], model.Parameters.Parameters.Select(p => p.Length));
    }
}
