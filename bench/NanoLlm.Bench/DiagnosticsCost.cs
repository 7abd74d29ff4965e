using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// What <c>diagnostics_interval = 100</c> costs a training run of the baby GPT (configs/shakespeare-baby.toml): a
/// training step (forward, backward, clip, AdamW) and the diagnostics' extra work on the steps that measure
/// (gradient norms per tensor, activation statistics, the weights' copy and ‖Δw‖/‖w‖ after the update), timed
/// interleaved in one process, medians of 30 each. At interval N the run pays the diagnostics once every N steps:
/// overhead = diagnostics / (N · step).
/// </summary>
public static class DiagnosticsCost
{
    private const int Repetitions = 30;
    private const int Interval = 100;

    public static void Run(string configPath)
    {
        var config = RunConfigLoader.Load(configPath);
        var settings = config.Training;
        var model = ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters);
        model.Initialize(new Random(settings.Seed));
        var optimizer = Optimizers.Create(settings, model.Parameters);
        var recorder = new DiagnosticsRecorder(model);
        var random = new Random(1);
        var (batchSize, length) = (settings.BatchSize, model.Spec.ContextLength);
        var inputs = Enumerable.Range(0, batchSize * length).Select(_ => random.Next(config.Model.VocabSize)).ToArray();
        var targets = Enumerable.Range(0, batchSize * length).Select(_ => random.Next(config.Model.VocabSize)).ToArray();

        void Step()
        {
            model.Training = true;
            model.Parameters.ZeroGrads();
            model.Forward(inputs, targets, batchSize, length);
            model.Backward();
            // As the trainer does: clipping's scale goes into the update's pass.
            var norm = GradientClipping.GlobalNorm(model.Parameters);
            optimizer.Update(model.Parameters, 1e-4f, GradientClipping.ScaleFor(norm, settings.GradClip));
        }

        var steps = new List<double>();
        var diagnostics = new List<double>();
        for (var i = 0; i < Repetitions + 3; i++)
        {
            var clock = Stopwatch.StartNew();
            Step();
            var step = clock.Elapsed.TotalMilliseconds;
            // The diagnostics' work alone, on the state the step just left (activations, gradients, weights).
            clock.Restart();
            recorder.BeforeUpdate();
            recorder.AfterUpdate();
            var measured = clock.Elapsed.TotalMilliseconds;
            if (i >= 3)
            {
                steps.Add(step);
                diagnostics.Add(measured);
            }
        }
        var stepMedian = Median(steps);
        var diagnosticsMedian = Median(diagnostics);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {stepMedian:F2} ms, diagnostics {diagnosticsMedian:F2} ms (medians of {Repetitions}); at diagnostics_interval = {Interval}: +{100 * diagnosticsMedian / (Interval * stepMedian):F2} % a step on average; on a measuring step alone: +{100 * diagnosticsMedian / stepMedian:F1} %"));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
