namespace NanoLlm.Training;

/// <summary>What a training run tells its owner, and when. Every hook is optional.</summary>
public sealed class TrainingHooks
{
    /// <summary>After every step.</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>After each evaluation, with the step and the validation result (null without a validation split).</summary>
    public Action<int, Evaluation?>? Evaluated { get; init; }

    /// <summary>After every <c>checkpoint_interval</c> steps, at the end, and when the run is interrupted.</summary>
    public Action<int>? Checkpoint { get; init; }

    /// <summary>Asked for a short generated text at each evaluation, for the progress display.</summary>
    public Func<string>? Sample { get; init; }
}
