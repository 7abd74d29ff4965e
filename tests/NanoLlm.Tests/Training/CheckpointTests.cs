using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private RunConfig TinyGpt(string weights, params string[] overrides)
    {
        string[] settings =
        [
            $"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={_folder.File(weights)}",
            "model.context_length=16", "model.embedding_size=16", "model.layers=1", "model.heads=2",
            "training.steps=24", "training.batch_size=4", "training.eval_interval=8", "training.checkpoint_interval=8",
        ];
        return RunConfigLoader.Load(Repository.PathOf("configs/gpt.toml"), [.. settings, .. overrides]);
    }

    [Fact]
    public void A_run_stopped_and_resumed_ends_with_the_same_weights_as_an_uninterrupted_one()
    {
        var (uninterrupted, _) = Cortex.Train(TinyGpt("straight.weights"), null, CancellationToken.None);

        using var stop = new CancellationTokenSource();
        var (_, first) = Cortex.Train(TinyGpt("stopped.weights"), p =>
        {
            if (p.Step == 10)
            {
                stop.Cancel();
            }
        }, stop.Token);
        var resumedLosses = new List<float>();
        var (resumed, second) = Cortex.Train(TinyGpt("stopped.weights"), p => resumedLosses.Add(p.Loss), CancellationToken.None, resume: true);

        Assert.True(first.Interrupted);
        // The summary's loss is the mean of the resumed run's own steps (14, fewer than the 20-step window).
        Assert.Equal(resumedLosses.Average(), second.Loss, 1e-6);
        Assert.Equal(10, first.Steps);
        Assert.Equal(24, second.Steps);
        Assert.Equal(uninterrupted.Model.Parameters.Values, resumed.Model.Parameters.Values);
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("muon")]
    public void A_run_stopped_and_resumed_writes_weights_and_checkpoint_files_byte_identical_to_an_uninterrupted_one(string optimizer)
    {
        var choice = $"training.optimizer={optimizer}";
        Cortex.Train(TinyGpt("straight.weights", choice), null, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        Cortex.Train(TinyGpt("stopped.weights", choice), p =>
        {
            if (p.Step == 13)
            {
                stop.Cancel();
            }
        }, stop.Token);
        Cortex.Train(TinyGpt("stopped.weights", choice), null, CancellationToken.None, resume: true);

        Assert.Equal(File.ReadAllBytes(_folder.File("straight.weights")), File.ReadAllBytes(_folder.File("stopped.weights")));
        Assert.Equal(
            File.ReadAllBytes(Checkpoint.PathFor(_folder.File("straight.weights"))),
            File.ReadAllBytes(Checkpoint.PathFor(_folder.File("stopped.weights"))));
    }

    [Fact]
    public void A_checkpoint_whose_optimizer_state_holds_infinity_is_refused_naming_the_tensor()
    {
        var weights = _folder.File("model.weights");
        Cortex.Train(TinyGpt("model.weights", "training.steps=8"), null, CancellationToken.None);
        var path = Checkpoint.PathFor(weights);
        var file = SafeTensors.Read(path);
        var tensors = file.Names.Select(n => new NamedTensor(n, file.Shape(n), file.ToArray(n))).ToList();
        var moments = tensors.Single(t => t.Name == "optimizer.adamw.v");
        var values = moments.Data.ToArray();
        values[5] = float.PositiveInfinity;
        tensors[tensors.IndexOf(moments)] = moments with { Data = values };
        SafeTensors.Write(path, tensors, file.Metadata);

        var message = Assert.Throws<WeightsFileException>(
            () => Cortex.Train(TinyGpt("model.weights", "training.steps=16"), null, CancellationToken.None, resume: true)).Message;

        Assert.Equal($"{path}: tensor optimizer.adamw.v holds Infinity at index 5: the file is corrupted or was saved from a diverged run", message);
    }

    [Fact]
    public void A_checkpoint_whose_best_loss_is_not_a_number_is_refused()
    {
        var weights = _folder.File("model.weights");
        Cortex.Train(TinyGpt("model.weights", "training.steps=8"), null, CancellationToken.None);
        var path = Checkpoint.PathFor(weights);
        var file = SafeTensors.Read(path);
        var metadata = file.Metadata.ToDictionary();
        metadata["best_val_loss"] = "low";
        SafeTensors.Write(path, [.. file.Names.Select(n => new NamedTensor(n, file.Shape(n), file.ToArray(n)))], metadata);

        var message = Assert.Throws<WeightsFileException>(
            () => Cortex.Train(TinyGpt("model.weights", "training.steps=16"), null, CancellationToken.None, resume: true)).Message;

        Assert.Equal($"{path}: metadata key best_val_loss is not a number", message);
    }

    [Fact]
    public void A_checkpoint_holds_the_step_and_the_optimizer_state_and_opens_in_chat()
    {
        Cortex.Train(TinyGpt("model.weights", "training.steps=8"), null, CancellationToken.None);

        var path = Checkpoint.PathFor(_folder.File("model.weights"));
        var file = SafeTensors.Read(path);

        Assert.Equal("8", file.Metadata["checkpoint_step"]);
        Assert.Equal("8", file.Metadata["optimizer_step"]);
        Assert.Contains("optimizer.adamw.m", file.Names);
        Assert.Contains("optimizer.adamw.v", file.Names);
        Assert.Equal("gpt", Cortex.Load(path).Model.Spec.Name);
    }

    [Fact]
    public void Resuming_without_a_checkpoint_says_how_to_start()
    {
        var message = Assert.Throws<ConfigException>(() => Cortex.Train(TinyGpt("none.weights"), null, CancellationToken.None, resume: true)).Message;

        Assert.Contains("no checkpoint to resume from", message);
    }

    [Fact]
    public void Resuming_with_a_different_model_is_refused()
    {
        Cortex.Train(TinyGpt("model.weights", "training.steps=8"), null, CancellationToken.None);

        var message = Assert.Throws<ConfigException>(
            () => Cortex.Train(TinyGpt("model.weights", "model.layers=2"), null, CancellationToken.None, resume: true)).Message;

        Assert.Contains("[model] differs from the checkpoint", message);
    }

    [Fact]
    public void A_diverging_run_stops_naming_the_step_and_leaves_the_last_checkpoint_untouched()
    {
        var config = TinyGpt("model.weights", "training.optimizer=sgd", "training.learning_rate=1000", "training.grad_clip=0", "training.steps=200");

        var message = Assert.Throws<TrainingDivergedException>(() => Cortex.Train(config, null, CancellationToken.None)).Message;

        Assert.Matches(@"training diverged at step \d+", message);
        Assert.Contains("lower [training] learning_rate", message);
        if (File.Exists(_folder.File("model.weights")))
        {
            Assert.All(Cortex.Load(_folder.File("model.weights")).Model.Parameters.Values, v => Assert.True(float.IsFinite(v)));
        }
    }

    [Fact]
    public void The_weights_file_keeps_the_best_validation_weights()
    {
        // A rate high enough that later evaluations are worse than an early one.
        var config = TinyGpt("model.weights", "training.learning_rate=0.5", "training.lr_schedule=constant", "training.warmup_steps=0");
        var validations = new List<(int Step, double Loss)>();
        Cortex.Train(config, p =>
        {
            if (p.Validation is { } v)
            {
                validations.Add((p.Step, v.Loss));
            }
        }, CancellationToken.None);

        var best = validations.MinBy(v => v.Loss);
        var checkpoint = Cortex.Load(Checkpoint.PathFor(_folder.File("model.weights")));
        var weights = Cortex.Load(_folder.File("model.weights"));

        Assert.Equal(best.Step == 24, weights.Model.Parameters.Values.SequenceEqual(checkpoint.Model.Parameters.Values));
    }

    [Fact]
    public void Muon_trains_the_tiny_gpt_its_loss_falls()
    {
        var reports = new List<TrainingProgress>();

        var (cortex, summary) = Cortex.Train(TinyGpt("muon.weights", "training.optimizer=muon"), reports.Add, CancellationToken.None);

        var validations = reports.Where(r => r.Validation is not null).Select(r => r.Validation!.Value.Loss).ToList();
        Assert.True(validations[^1] < validations[0] - 0.3, $"validation loss went from {validations[0]:F3} to {validations[^1]:F3}");
        Assert.IsType<Muon>(Checkpoint.Read(Checkpoint.PathFor(_folder.File("muon.weights")), TinyGpt("muon.weights", "training.optimizer=muon")).Optimizer);
        Assert.Equal(24, summary.Steps);
        Assert.NotNull(cortex);
    }

    [Fact]
    public void A_resumed_time_budgeted_run_spends_only_what_is_left_of_its_budget()
    {
        string[] budget = ["training.time_budget_minutes=0.05", "training.steps=1000000", "training.checkpoint_interval=0"];
        using var stop = new CancellationTokenSource();
        var (_, first) = Cortex.Train(TinyGpt("budget.weights", budget), p =>
        {
            if (p.Elapsed.TotalSeconds >= 1)
            {
                stop.Cancel();
            }
        }, stop.Token);
        var state = Checkpoint.Read(Checkpoint.PathFor(_folder.File("budget.weights")), TinyGpt("budget.weights", budget));

        var (_, second) = Cortex.Train(TinyGpt("budget.weights", budget), null, CancellationToken.None, resume: true);

        Assert.True(first.Interrupted);
        Assert.InRange(state.Elapsed.TotalSeconds, 1, 3);
        Assert.NotNull(state.Best);
        Assert.False(second.Interrupted);
        // Three seconds in all, the first run's included: the resumed run's own time is what was left.
        Assert.InRange(second.Elapsed.TotalSeconds, 3, 10);
        Assert.True(second.Steps > first.Steps);
        var spent = Assert.Throws<ConfigException>(() => Cortex.Train(TinyGpt("budget.weights", budget), null, CancellationToken.None, resume: true));
        Assert.Contains("[training] time_budget_minutes: the checkpoint", spent.Message);
        Assert.Contains("raise it to continue the run", spent.Message);
    }
}
