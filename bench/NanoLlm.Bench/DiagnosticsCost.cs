using System.Diagnostics;
using System.Globalization;
using NanoLlm.Data;
using NanoLlm.Config;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// What <c>diagnostics_interval = 100</c> costs a training run: the baby GPT recipe (configs/shakespeare-baby.toml,
/// without evaluation) trained for 200 steps with diagnostics off and at 100, one after the other, for several rounds
/// (each run measures on its first step and every 100th: 3 of 200 steps, more than a long run's 1 in 100). Prints each
/// round's ms/step and the median ratio.
/// </summary>
public static class DiagnosticsCost
{
    private const int Steps = 200;
    private const int Rounds = 5;

    public static void Run(string configPath)
    {
        var config = RunConfigLoader.Load(configPath);
        var tokens = Bpe.ByteLevel.Encode(BenchData.TinyShakespeare());
        var (train, validation) = TokenSplit.Split(tokens, [.. Enumerable.Repeat(1, Bpe.ByteCount)], config.Training.ValFraction);
        var ratios = new List<double>();
        Console.WriteLine("round  off ms/step  diagnostics_interval=100 ms/step  ratio");
        for (var round = 0; round < Rounds; round++)
        {
            var off = MillisecondsPerStep(config, train, validation, 0);
            var on = MillisecondsPerStep(config, train, validation, 100);
            ratios.Add(on / off);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{round + 1,5}  {off,11:F2}  {on,33:F2}  {on / off:F4}"));
        }
        ratios.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median ratio (diagnostics at 100 / off): {ratios[ratios.Count / 2]:F4} over {Rounds} rounds of {Steps} steps"));
    }

    private static double MillisecondsPerStep(RunConfig config, TokenSplit train, TokenSplit validation, int interval)
    {
        var settings = config.Training with { Steps = Steps, EvalInterval = 0, DiagnosticsInterval = interval };
        var model = NanoLlm.Model.ModelRegistry.Create(config.Model.Name, Bpe.ByteCount, config.Model.Hyperparameters);
        model.Initialize(new Random(settings.Seed));
        var trainer = new Trainer(model, Optimizers.Create(settings, model.Parameters), settings, train.Length);
        var clock = Stopwatch.StartNew();
        var stepsDone = 0;
        // No validation split: the end-of-run evaluation would be timed too.
        trainer.Run(train, new TokenSplit([], validation.BytesPerToken), new TrainingHooks { Progress = p => stepsDone = p.Step }, CancellationToken.None);
        return clock.Elapsed.TotalMilliseconds / stepsDone;
    }
}
