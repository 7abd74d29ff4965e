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

    [Fact]
    public void Diagnostics_are_off_by_default()
    {
        var (train, validation) = Splits();
        var reports = new List<TrainingProgress>();

        BigramTrainer(steps: 5, evalInterval: 0, train.Length).Run(train, validation, new TrainingHooks { Progress = reports.Add }, CancellationToken.None);

        Assert.All(reports, r => Assert.Null(r.Diagnostics));
    }

    [Fact]
    public void Diagnostics_come_on_the_first_step_and_every_interval_with_the_update_ratio_of_the_step_taken()
    {
        var (train, validation) = Splits();
        var model = new GptModel(256, new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new(8L, "test"),
            ["embedding_size"] = new(8L, "test"),
            ["layers"] = new(1L, "test"),
            ["heads"] = new(2L, "test"),
        }));
        model.Initialize(new Random(1));
        const double learningRate = 0.1;
        var settings = new TrainingSettings("corpus", 7, 0, learningRate, BatchSize: 2, Seed: 1, ValFraction: 0.1, EvalInterval: 0, EvalBatches: 1)
        {
            DiagnosticsInterval = 3,
        };
        var weights = new List<float[]>();
        var grads = new List<float[]>();
        var reports = new List<TrainingProgress>();
        var attentionWeight = model.Parameters["h.0.attn.c_attn.weight"];

        new Trainer(model, new Sgd(), settings, train.Length).Run(train, validation, new TrainingHooks
        {
            Progress = p =>
            {
                reports.Add(p);
                weights.Add(attentionWeight.Values.ToArray());
                grads.Add(attentionWeight.Grads.ToArray());
            },
        }, CancellationToken.None);

        Assert.Equal([1, 3, 6], reports.Where(r => r.Diagnostics is not null).Select(r => r.Step));
        var diagnostics = reports[2].Diagnostics!;
        Assert.Equal(model.Parameters.Parameters.Select(p => p.Name), diagnostics.Tensors.Select(t => t.Name));
        Assert.Equal(["h.0.gelu", "h.0.attn"], diagnostics.Activations.Select(a => a.Site));
        var tensor = diagnostics.Tensors.Single(t => t.Name == "h.0.attn.c_attn.weight");
        Assert.True(tensor.Matrix);
        // Plain SGD, no clipping: Δw = −lr·g, so ‖Δw‖/‖w‖ = lr·‖g‖/‖w_before‖.
        var gradientNorm = Math.Sqrt(grads[2].Sum(g => (double)g * g));
        var weightNorm = Math.Sqrt(weights[1].Sum(w => (double)w * w));
        Assert.Equal(gradientNorm, tensor.GradientNorm, 1e-4);
        Assert.Equal(learningRate * gradientNorm / weightNorm, tensor.UpdateRatio, 1e-5);
        Assert.False(diagnostics.Tensors.Single(t => t.Name == "h.0.attn.c_attn.bias").Matrix);
        Assert.True(double.IsNaN(reports[0].Diagnostics!.Tensors.Single(t => t.Name == "h.0.attn.c_attn.bias").UpdateRatio));
    }

    [Fact]
    public void A_time_budget_ends_the_run_when_spent_with_its_schedule_decayed_to_the_minimum()
    {
        var (train, validation) = Splits();
        var model = new BigramModel(256, new SettingsSection("model", "test", new Dictionary<string, SettingValue>()));
        var settings = new TrainingSettings("corpus", 0, 0, LearningRate: 1.0, BatchSize: 4, Seed: 1, ValFraction: 0.1, EvalInterval: 0, EvalBatches: 0)
        {
            TimeBudgetMinutes = 0.5 / 60,
            Schedule = TrainingSettings.WsdSchedule,
            MinLearningRate = 0.1,
        };
        var reports = new List<TrainingProgress>();
        var checkpoints = new List<int>();

        var summary = new Trainer(model, new Sgd(), settings, train.Length)
            .Run(train, validation, new TrainingHooks { Progress = reports.Add, Checkpoint = checkpoints.Add }, CancellationToken.None);

        Assert.False(summary.Interrupted);
        Assert.Equal(reports.Count, summary.Steps);
        Assert.Equal([summary.Steps], checkpoints);
        Assert.InRange(summary.Elapsed.TotalSeconds, 0.5, 30);
        Assert.True(reports[^2].Elapsed.TotalSeconds < 0.5, "the run took a step after its budget was spent");
        Assert.All(reports, r => Assert.Equal(TimeSpan.FromSeconds(0.5), r.Budget));
        // The rate is the schedule's at the fraction of the budget spent: full at first, near the minimum at the end.
        Assert.Equal(1.0, reports[0].LearningRate);
        Assert.InRange(reports[^1].LearningRate, 0.1, 0.3);
        Assert.NotNull(reports[^1].Validation);
        Assert.Equal(summary.Steps, summary.Best!.Step);
        Assert.Equal(reports[^1].Validation!.Value.Loss, summary.Best.Loss);
    }

    [Fact]
    public void The_best_validation_is_the_lowest_with_the_step_and_time_that_reached_it()
    {
        var (train, validation) = Splits();
        var reports = new List<TrainingProgress>();

        var summary = BigramTrainer(steps: 60, evalInterval: 10, train.Length)
            .Run(train, validation, new TrainingHooks { Progress = reports.Add }, CancellationToken.None);

        var evaluated = reports.Where(r => r.Validation is not null).ToList();
        var lowest = evaluated.MinBy(r => r.Validation!.Value.Loss)!;
        Assert.Equal(lowest.Step, summary.Best!.Step);
        Assert.Equal(lowest.Validation!.Value.Loss, summary.Best.Loss);
        Assert.Equal(lowest.Elapsed, summary.Best.Elapsed);
        Assert.Null(reports[0].Best);
        Assert.Equal(summary.Best, reports[^1].Best);
    }
}
