using System.Globalization;
using System.Text.Json;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;

namespace NanoLlm.Training;

/// <summary>
/// Everything a run needs to continue exactly where it stopped, in one safetensors file beside the weights: the
/// weights file's tensors and metadata (so chat can open a checkpoint too), the optimizer's buffers under
/// <see cref="OptimizerPrefix"/>, and the step, the optimizer's step and the best validation loss (with the step that
/// reached it) in the metadata. A run with a time budget adds its training time so far and the best loss's: a resumed
/// run spends only what is left. Other runs leave times out, so their checkpoints stay byte-identical from run to run
/// (a resumed one counts its times from the resume).
/// The batches need no saved state: each step's windows are drawn from (seed, step) alone.
/// </summary>
public static class Checkpoint
{
    public const string OptimizerPrefix = "optimizer.";

    public static string PathFor(string weightsPath) => weightsPath + ".checkpoint";

    public static void Write(
        string path, Cortex cortex, IOptimizer optimizer, int step, double bestValidationLoss, BestValidation? best = null, TimeSpan? elapsed = null)
    {
        var tensors = cortex.Tensors();
        foreach (var (name, buffer) in optimizer.State)
        {
            tensors.Add(new NamedTensor(OptimizerPrefix + name, [buffer.Length], buffer));
        }
        var metadata = cortex.Metadata();
        metadata["checkpoint_step"] = step.ToString(CultureInfo.InvariantCulture);
        metadata["optimizer"] = optimizer.GetType().Name;
        metadata["optimizer_step"] = optimizer.UpdateCount.ToString(CultureInfo.InvariantCulture);
        metadata["best_val_loss"] = bestValidationLoss.ToString("R", CultureInfo.InvariantCulture);
        if (best is not null)
        {
            metadata["best_val_step"] = best.Step.ToString(CultureInfo.InvariantCulture);
        }
        if (elapsed is { } time)
        {
            metadata["elapsed_seconds"] = time.TotalSeconds.ToString("R", CultureInfo.InvariantCulture);
            if (best is not null)
            {
                metadata["best_val_seconds"] = best.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture);
            }
        }
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Reads the checkpoint a resumed <paramref name="config"/> continues from, refusing one of another model or optimizer.</summary>
    public static CheckpointState Read(string path, RunConfig config)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"{path}: no checkpoint to resume from: train {config.Path} without resuming first");
        }
        return Read(SafeTensors.Read(path), path, config);
    }

    internal static CheckpointState Read(SafeTensorsFile file, string path, RunConfig config)
    {
        var cortex = Cortex.FromFile(file, path);
        var spec = cortex.Model.Spec;
        var expected = ModelRegistry.Create(config.Model.Name, cortex.Tokenizer.VocabSize, config.Model.Hyperparameters).Spec;
        if (config.Model.VocabSize != spec.VocabSize || expected.Name != spec.Name || ModelKeys(expected) != ModelKeys(spec))
        {
            throw new ConfigException(
                $"{config.Path}: [model] differs from the checkpoint {path} ({spec.Name}, vocab {spec.VocabSize}, {ModelKeys(spec)}): resume with the run file that wrote it");
        }
        var optimizer = Optimizers.Create(config.Training, cortex.Model.Parameters);
        if (file.Metadata.GetValueOrDefault("optimizer") != optimizer.GetType().Name)
        {
            throw new ConfigException(
                $"{config.Path}: [training] optimizer is {config.Training.Optimizer}, the checkpoint {path} was written by {file.Metadata.GetValueOrDefault("optimizer")}: resume with the same optimizer");
        }
        foreach (var (name, buffer) in optimizer.State)
        {
            var tensor = OptimizerPrefix + name;
            if (!file.Contains(tensor) || file.Shape(tensor) is not [var length] || length != buffer.Length)
            {
                throw new WeightsFileException($"{path}: tensor {tensor} is missing or is not [{buffer.Length}]");
            }
            file.CopyTo(tensor, buffer);
        }
        optimizer.UpdateCount = Integer(file, "optimizer_step", path);
        var bestLoss = BestValidationLoss(file, path);
        var best = file.Metadata.ContainsKey("best_val_step") && double.IsFinite(bestLoss)
            ? new BestValidation(
                bestLoss, Integer(file, "best_val_step", path), file.Metadata.ContainsKey("best_val_seconds") ? Seconds(file, "best_val_seconds", path) : TimeSpan.Zero)
            : null;
        return new CheckpointState(cortex, optimizer, Integer(file, "checkpoint_step", path), bestLoss)
        {
            Elapsed = file.Metadata.ContainsKey("elapsed_seconds") ? Seconds(file, "elapsed_seconds", path) : TimeSpan.Zero,
            Best = best,
        };
    }

    private static TimeSpan Seconds(SafeTensorsFile file, string key, string path) =>
        double.TryParse(file.Metadata.GetValueOrDefault(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
        && double.IsFinite(seconds) && seconds >= 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2
            ? TimeSpan.FromSeconds(seconds)
            : throw new WeightsFileException($"{path}: metadata key {key} is not a number of seconds");

    // The model's own keys as it resolved them (defaults included). name and vocab_size are compared on their own:
    // a run file's section holds them, a weights file's does not.
    private static string ModelKeys(ModelSpec spec) =>
        JsonSerializer.Serialize(spec.Hyperparameters.Resolved.Where(p => p.Key is not ("name" or "vocab_size")).ToDictionary());

    // Infinity until a run has evaluated; never NaN, which no later loss would beat.
    private static double BestValidationLoss(SafeTensorsFile file, string path) =>
        double.TryParse(file.Metadata.GetValueOrDefault("best_val_loss", "Infinity"), NumberStyles.Float, CultureInfo.InvariantCulture, out var loss)
        && !double.IsNaN(loss)
            ? loss
            : throw new WeightsFileException($"{path}: metadata key best_val_loss is not a number");

    private static int Integer(SafeTensorsFile file, string key, string path) =>
        int.TryParse(file.Metadata.GetValueOrDefault(key), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new WeightsFileException($"{path}: metadata key {key} is missing or not a number");
}

/// <summary>A checkpoint read back: the model with its tokenizer, the optimizer with its state, and where training stood.</summary>
public sealed record CheckpointState(Cortex Cortex, IOptimizer Optimizer, int Step, double BestValidationLoss)
{
    /// <summary>The training time spent before the checkpoint (zero for a checkpoint that does not record it).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>When the best validation loss was reached; null when the checkpoint does not say.</summary>
    public BestValidation? Best { get; init; }
}
