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

    [Fact]
    public void Wsd_holds_the_rate_then_falls_in_a_straight_line_to_the_minimum_over_the_last_fraction()
    {
        var settings = Settings(TrainingSettings.WsdSchedule, warmup: 10) with { DecayFraction = 0.2 };
        var schedule = new LearningRateSchedule(settings, totalSteps: 1000);

        Assert.Equal(1e-4, schedule.At(0), 1e-12);
        Assert.Equal(1e-3, schedule.At(10), 1e-12);
        Assert.Equal(1e-3, schedule.At(799), 1e-12);
        Assert.Equal(1e-3, schedule.At(800), 1e-12);
        // Halfway through the decay: the midpoint; a step later, lower by (η − η_min)/(0.2·1000).
        Assert.Equal((1e-3 + 1e-4) / 2, schedule.At(900), 1e-12);
        Assert.Equal(((1e-3 + 1e-4) / 2) - (9e-4 / 200), schedule.At(901), 1e-12);
        Assert.Equal(1e-4 + (9e-4 / 200), schedule.At(999), 1e-12);
        Assert.Equal(1e-4, schedule.At(1000), 1e-12);
    }

    [Fact]
    public void With_a_time_budget_the_schedule_follows_the_fraction_of_the_budget_spent_after_the_warmup()
    {
        var wsd = new LearningRateSchedule(Settings(TrainingSettings.WsdSchedule, warmup: 10) with { DecayFraction = 0.5 }, totalSteps: int.MaxValue);
        var cosine = new LearningRateSchedule(Settings(TrainingSettings.CosineSchedule, warmup: 10), totalSteps: int.MaxValue);

        // The warmup counts steps whatever the time.
        Assert.Equal(5e-4, wsd.At(4, progress: 0.9), 1e-12);
        Assert.Equal(1e-3, wsd.At(5000, progress: 0.4), 1e-12);
        Assert.Equal((1e-3 + 1e-4) / 2, wsd.At(5000, progress: 0.75), 1e-12);
        Assert.Equal(1e-4, wsd.At(5000, progress: 1), 1e-12);
        // A step taken after the budget ran out stays at the minimum.
        Assert.Equal(1e-4, wsd.At(5000, progress: 1.3), 1e-12);
        Assert.Equal(1e-3, cosine.At(5000, progress: 0), 1e-12);
        Assert.Equal((1e-3 + 1e-4) / 2, cosine.At(5000, progress: 0.5), 1e-12);
        Assert.Equal(1e-4, cosine.At(5000, progress: 1), 1e-12);
    }
}
