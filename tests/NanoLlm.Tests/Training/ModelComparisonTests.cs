using NanoLlm.Config;
using NanoLlm.Tests.Support;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

/// <summary>Each step of the path must beat the one before it on held-out text, for the same number of training tokens.</summary>
public sealed class ModelComparisonTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private RunConfig Shipped(string config, params string[] overrides)
    {
        string[] paths = [$"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={_folder.File("model.weights")}"];
        return RunConfigLoader.Load(Repository.PathOf(config), [.. paths, .. overrides]);
    }

    [Fact]
    public void The_mlp_beats_the_bigram_on_validation_loss_for_the_same_token_budget()
    {
        // The shipped MLP takes 1,500 steps of 32 windows × 8 tokens = 384,000 tokens; the bigram (1 token per
        // window, 32 windows a step) gets the same 384,000 tokens in 12,000 steps.
        var mlp = Shipped("configs/mlp.toml", "training.eval_interval=0");
        var tokens = mlp.Training.Steps * mlp.Training.BatchSize * 8;
        var bigram = Shipped("configs/bigram.toml", $"training.steps={tokens / 32}");

        var (_, bigramSummary) = Cortex.Train(bigram, null, CancellationToken.None);
        var (_, mlpSummary) = Cortex.Train(mlp, null, CancellationToken.None);

        // Measured: bigram 2.13 nats per byte token, MLP 1.96 (corpus.txt, seeds as shipped).
        var bigramLoss = bigramSummary.Validation!.Value.Loss;
        var mlpLoss = mlpSummary.Validation!.Value.Loss;
        Assert.True(mlpLoss < bigramLoss - 0.1, $"MLP validation loss {mlpLoss:F3} should be at least 0.1 below the bigram's {bigramLoss:F3}");
    }

    [Fact]
    public void The_gpt_beats_the_mlp_on_validation_bits_per_byte_for_the_same_token_budget()
    {
        // Both shipped configs train on 384,000 tokens: the MLP 1,500 × 32 × 8, the GPT 250 × 48 × 32.
        var mlp = Shipped("configs/mlp.toml", "training.eval_interval=0");
        var gpt = Shipped("configs/gpt.toml", "training.eval_interval=0");
        Assert.Equal(mlp.Training.Steps * mlp.Training.BatchSize * 8, gpt.Training.Steps * gpt.Training.BatchSize * 32);

        var (_, mlpSummary) = Cortex.Train(mlp, null, CancellationToken.None);
        var (_, gptSummary) = Cortex.Train(gpt, null, CancellationToken.None);

        // Measured: MLP 2.84 bits per byte, GPT 2.56 (corpus.txt, seeds as shipped).
        var mlpBpb = mlpSummary.Validation!.Value.BitsPerByte;
        var gptBpb = gptSummary.Validation!.Value.BitsPerByte;
        Assert.True(gptBpb < mlpBpb - 0.1, $"GPT validation {gptBpb:F3} bits per byte should be at least 0.1 below the MLP's {mlpBpb:F3}");
    }

    [Fact]
    public void Adamw_beats_sgd_on_the_gpt_for_the_same_steps()
    {
        // SGD at the best of the rates 0.3, 1 and 3 (measured 3.04, 2.97, 2.95 bits per byte) against the shipped AdamW run.
        var adamw = Shipped("configs/gpt.toml", "training.eval_interval=0");
        var sgd = Shipped("configs/gpt.toml", "training.eval_interval=0", "training.optimizer=sgd", "training.learning_rate=3");

        var (_, adamwSummary) = Cortex.Train(adamw, null, CancellationToken.None);
        var (_, sgdSummary) = Cortex.Train(sgd, null, CancellationToken.None);

        // Measured: SGD 2.95 bits per byte, AdamW 2.56.
        var adamwBpb = adamwSummary.Validation!.Value.BitsPerByte;
        var sgdBpb = sgdSummary.Validation!.Value.BitsPerByte;
        Assert.True(adamwBpb < sgdBpb - 0.2, $"AdamW validation {adamwBpb:F3} bits per byte should be at least 0.2 below SGD's {sgdBpb:F3}");
    }
}
