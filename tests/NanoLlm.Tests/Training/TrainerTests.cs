using NanoLlm.Config;
using NanoLlm.Data;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class TrainerTests
{
    private static readonly int[] OneBytePerToken = Enumerable.Repeat(1, 256).ToArray();

    private static (TokenSplit Train, TokenSplit Validation) Splits()
    {
        var text = "the cat sat on the mat and the dog sat on the log. "u8.ToArray();
        var tokens = Enumerable.Range(0, 20).SelectMany(_ => text).Select(b => (ushort)b).ToArray();
        return TokenSplit.Split(tokens, OneBytePerToken, fraction: 0.1);
    }

    private static Trainer BigramTrainer(int steps, int evalInterval, long trainLength)
    {
        var model = new BigramModel(256, new SettingsSection("model", "test", new Dictionary<string, SettingValue>()));
        var settings = new TrainingSettings("corpus", steps, 0, LearningRate: 1.0, BatchSize: 4, Seed: 1, ValFraction: 0.1, evalInterval, EvalBatches: 0);
        return new Trainer(model, new Sgd(), settings, trainLength);
    }

    [Fact]
    public void Every_eval_interval_reports_training_and_validation_loss_in_nats_and_bits_per_byte()
    {
        var (train, validation) = Splits();
        var reports = new List<TrainingProgress>();

        BigramTrainer(steps: 10, evalInterval: 4, train.Length).Run(train, validation, new TrainingHooks { Progress = reports.Add }, CancellationToken.None);

        Assert.Equal([4, 8, 10], reports.Where(r => r.Validation is not null).Select(r => r.Step));
        Assert.Equal([4, 8, 10], reports.Where(r => r.Training is not null).Select(r => r.Step));
        var last = reports[^1];
        // One byte per token: bits per byte is nats per token / ln 2.
        Assert.Equal(last.Validation!.Value.Loss / Math.Log(2), last.Validation.Value.BitsPerByte, 1e-9);
        Assert.Equal(last.Training!.Value.Loss / Math.Log(2), last.Training.Value.BitsPerByte, 1e-9);
    }

    [Fact]
    public void Loss_falls_as_training_goes_on()
    {
        var (train, validation) = Splits();
        var reports = new List<TrainingProgress>();

        BigramTrainer(steps: 60, evalInterval: 20, train.Length).Run(train, validation, new TrainingHooks { Progress = reports.Add }, CancellationToken.None);

        var evaluations = reports.Where(r => r.Training is not null).Select(r => r.Training!.Value.Loss).ToList();
        Assert.True(evaluations[^1] < evaluations[0], $"training loss went from {evaluations[0]:F3} to {evaluations[^1]:F3}");
    }
}
