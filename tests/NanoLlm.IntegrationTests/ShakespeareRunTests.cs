using System.Globalization;
using System.Text.RegularExpressions;

namespace NanoLlm.IntegrationTests;

public sealed partial class ShakespeareRunTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_short_run_of_a_tiny_gpt_beats_the_unigram_baseline_on_held_out_shakespeare()
    {
        var text = File.ReadAllBytes(TinyShakespeare.Path);
        var baseline = UnigramCrossEntropy(text, validationFraction: 0.1);

        var result = ProgramRunner.Train(
            _folder.Path, Path.Combine(ProgramRunner.RepositoryRoot, "configs", "shakespeare.toml"),
            "--set", $"training.corpus={TinyShakespeare.Path}", "--set", "weights.path=tiny.weights",
            "--set", "model.embedding_size=32", "--set", "model.layers=1", "--set", "model.context_length=32",
            "--set", "training.steps=600", "--set", "training.batch_size=8", "--set", "training.warmup_steps=30",
            "--set", "training.eval_interval=0", "--set", "training.eval_batches=20", "--set", "training.checkpoint_interval=0");

        Assert.True(result.ExitCode == 0, result.StandardError);
        var validation = double.Parse(ValidationLoss().Match(result.StandardOutput).Groups[1].Value, CultureInfo.InvariantCulture);
        // Measured: unigram 3.35 nats per byte; the tiny GPT 2.57 after 600 steps.
        Assert.True(validation < baseline - 0.5, $"validation loss {validation:F3} should be at least 0.5 below the unigram baseline {baseline:F3}");
    }

    // Cross-entropy of the held-out bytes under the training bytes' frequencies (add-one smoothed), in nats.
    private static double UnigramCrossEntropy(byte[] text, double validationFraction)
    {
        var split = text.Length - (int)(text.Length * validationFraction);
        var counts = new double[256];
        Array.Fill(counts, 1);
        foreach (var b in text.AsSpan(0, split))
        {
            counts[b]++;
        }
        var total = counts.Sum();
        double nats = 0;
        foreach (var b in text.AsSpan(split))
        {
            nats -= Math.Log(counts[b] / total);
        }
        return nats / (text.Length - split);
    }

    [GeneratedRegex(@"val_loss=([0-9.]+)")]
    private static partial Regex ValidationLoss();
}
