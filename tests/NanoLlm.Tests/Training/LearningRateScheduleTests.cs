using NanoLlm.Config;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class LearningRateScheduleTests
{
    private static TrainingSettings Settings(string schedule, int warmup, int decaySteps = 0) =>
        new("corpus", 1000, 0, LearningRate: 1e-3, BatchSize: 1, Seed: 1, ValFraction: 0.1, EvalInterval: 0, EvalBatches: 0)
        {
            Schedule = schedule,
            WarmupSteps = warmup,
            MinLearningRate = 1e-4,
            DecaySteps = decaySteps,
        };

    [Fact]
    public void Warmup_rises_linearly_to_the_learning_rate()
    {
        var schedule = new LearningRateSchedule(Settings(TrainingSettings.CosineSchedule, warmup: 100), totalSteps: 1000);

        Assert.Equal(1e-5, schedule.At(0), 1e-12);
        Assert.Equal(5e-4, schedule.At(49), 1e-12);
        Assert.Equal(1e-3, schedule.At(99), 1e-12);
    }

    [Fact]
    public void Cosine_is_at_the_midpoint_halfway_and_at_the_minimum_at_the_end()
    {
        var schedule = new LearningRateSchedule(Settings(TrainingSettings.CosineSchedule, warmup: 100), totalSteps: 1000);

        Assert.Equal(1e-3, schedule.At(100), 1e-12);
        Assert.Equal((1e-3 + 1e-4) / 2, schedule.At(550), 1e-12);
        Assert.Equal(1e-4, schedule.At(1000), 1e-12);
        Assert.True(schedule.At(800) < schedule.At(700));
    }

    [Fact]
    public void After_decay_steps_the_rate_stays_at_the_minimum()
    {
        var schedule = new LearningRateSchedule(Settings(TrainingSettings.CosineSchedule, warmup: 0, decaySteps: 500), totalSteps: 1000);

        Assert.Equal(1e-4, schedule.At(500), 1e-12);
        Assert.Equal(1e-4, schedule.At(900), 1e-12);
    }

    [Fact]
    public void Constant_keeps_the_learning_rate_after_warmup()
    {
        var schedule = new LearningRateSchedule(Settings(TrainingSettings.ConstantSchedule, warmup: 10), totalSteps: 1000);

        Assert.Equal(1e-4, schedule.At(0), 1e-12);
        Assert.Equal(1e-3, schedule.At(10), 1e-12);
        Assert.Equal(1e-3, schedule.At(999), 1e-12);
    }
}
