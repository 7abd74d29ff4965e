using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;

namespace NanoLlm.Training;

/// <summary>
/// Everything a run needs to continue exactly where it stopped, in one safetensors file beside the weights: the
/// weights file's tensors and metadata (so chat can open a checkpoint too), the optimizer's buffers under
/// <see cref="OptimizerPrefix"/>, and the step, the optimizer's step and the best validation loss in the metadata.
/// The batches need no saved state: each step's windows are drawn from (seed, step) alone.
/// </summary>
public static class Checkpoint
{
    public const string OptimizerPrefix = "optimizer.";

    public static string PathFor(string weightsPath) => weightsPath + ".checkpoint";

    public static void Write(string path, Cortex cortex, IOptimizer optimizer, int step, double bestValidationLoss)
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
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Reads the checkpoint a resumed <paramref name="config"/> continues from, refusing one of another model or optimizer.</summary>
    public static CheckpointState Read(string path, RunConfig config)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"{path}: no checkpoint to resume from: train {config.Path} without resuming first");
        }
        var file = SafeTensors.Read(path);
        var cortex = Cortex.FromFile(file, path);
        var spec = cortex.Model.Spec;
        var expected = ModelRegistry.Create(config.Model.Name, cortex.Tokenizer.VocabSize, config.Model.Hyperparameters).Spec;
        if (config.Model.VocabSize != cortex.Tokenizer.VocabSize || expected.Name != spec.Name
            || Resolved(expected) != Resolved(spec))
        {
            throw new ConfigException(
                $"{config.Path}: [model] differs from the checkpoint {path} ({cortex.Model.Spec.Name}, vocab {cortex.Tokenizer.VocabSize}, {cortex.Model.Spec.Hyperparameters.ToJson()}): resume with the run file that wrote it");
        }
        var optimizer = Optimizers.Create(config.Training, cortex.Model.Parameters);
        if (file.Metadata.GetValueOrDefault("optimizer") != optimizer.GetType().Name)
        {
            throw new ConfigException(
                $"{config.Path}: [training] optimizer is {config.Training.Optimizer}, the checkpoint {path} was written by {file.Metadata.GetValueOrDefault("optimizer")}: resume with the same optimizer");
        }
        var state = optimizer.State.ToDictionary(
            entry => entry.Key,
            entry => file.Contains(OptimizerPrefix + entry.Key)
                ? file.ToArray(OptimizerPrefix + entry.Key)
                : throw new WeightsFileException($"{path}: tensor {OptimizerPrefix}{entry.Key} is missing"));
        return new CheckpointState(
            cortex,
            Integer(file, "checkpoint_step", path),
            Integer(file, "optimizer_step", path),
            double.Parse(file.Metadata.GetValueOrDefault("best_val_loss", "Infinity"), CultureInfo.InvariantCulture),
            state);
    }

    // The model's keys with defaults filled in, as the model itself reads them (the run file's section also holds
    // name and vocab_size; a loaded file's does not).
    private static string Resolved(ModelSpec spec) =>
        ModelRegistry.Create(spec.Name, spec.VocabSize, SettingsSection.FromJson("model", "checkpoint", spec.Hyperparameters.ToJson())).Spec.Hyperparameters.ToJson();

    private static int Integer(SafeTensorsFile file, string key, string path) =>
        int.TryParse(file.Metadata.GetValueOrDefault(key), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new WeightsFileException($"{path}: metadata key {key} is missing or not a number");
}

/// <summary>A checkpoint read back: the model with its tokenizer, where training stood, and the optimizer's buffers.</summary>
public sealed record CheckpointState(Cortex Cortex, int Step, int OptimizerStep, double BestValidationLoss, IReadOnlyDictionary<string, float[]> OptimizerState)
{
    /// <summary>Copies the saved buffers and step into a freshly created optimizer of the same kind.</summary>
    public void RestoreInto(IOptimizer optimizer)
    {
        foreach (var (name, buffer) in optimizer.State)
        {
            var saved = OptimizerState[name];
            if (saved.Length != buffer.Length)
            {
                throw new WeightsFileException($"optimizer buffer {name} has {saved.Length} values, the model needs {buffer.Length}");
            }
            saved.CopyTo(buffer, 0);
        }
        optimizer.UpdateCount = OptimizerStep;
    }
}
