namespace NanoLlm.Training;

/// <summary>Reported after every step; <see cref="Validation"/> is set on the steps that evaluated.</summary>
public readonly record struct TrainingProgress(
    int Step,
    int TotalSteps,
    float Loss,
    double TokensPerSecond,
    TimeSpan Elapsed,
    Evaluation? Validation);

/// <param name="Loss">Mean training loss of the last steps (up to <see cref="Trainer.LossWindow"/>).</param>
/// <param name="Validation">Null when the run holds out no validation split.</param>
/// <param name="Interrupted">The run was stopped before its last step.</param>
public sealed record TrainingSummary(
    int Steps,
    float Loss,
    Evaluation? Validation,
    double TokensPerSecond,
    TimeSpan Elapsed,
    bool Interrupted);
