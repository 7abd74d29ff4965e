using NanoLlm.Config;
using NanoLlm.DocsTests.Support;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/06-optimization.md.</summary>
public sealed class OptimizationExercises : IDisposable
{
    private readonly ShippedRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void The_gpt_run_warms_up_to_its_rate_and_ends_at_the_minimum()
    {
        var config = _run.Load("configs/gpt.toml");
        var schedule = new LearningRateSchedule(config.Training, config.Training.Steps);

        // Steps are counted from 1 in the progress and the CSV, from 0 by At.
        Assert.Equal(0.01, schedule.At(24), 10);
        Assert.Equal(0.00100044, schedule.At(249), 8);
        Assert.Equal(0.001, schedule.At(250), 10);
    }

    [Fact]
    public void Adams_first_step_moves_every_parameter_by_the_learning_rate()
    {
        var parameters = new ParameterSet([new ParameterSpec("w", [3], Decay: false)]);
        float[] gradients = [0.001f, 1f, 1000f];
        gradients.CopyTo(parameters.Grads, 0);
        var adamW = new AdamW(new OptimizerSettings(), parameters.Count);

        adamW.Update(parameters, learningRate: 0.01f);

        Assert.All(parameters.Values, value => Assert.Equal(-0.01, value, 6));
    }
}
