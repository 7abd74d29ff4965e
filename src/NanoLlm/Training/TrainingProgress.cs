namespace NanoLlm.Training;

/// <summary>
/// Reported after every step. On the steps that evaluate, <see cref="Training"/> and <see cref="Validation"/> hold the
/// loss of each split scored without sampling (the per-step <see cref="Loss"/> is one noisy batch).
/// </summary>
public readonly record struct TrainingProgress(
    int Step,
    int TotalSteps,
    float Loss,
    double LearningRate,
    double GradientNorm,
    double TokensPerSecond,
    TimeSpan Elapsed,
    Evaluation? Training,
    Evaluation? Validation)
{
    /// <summary>A short text the model generated, on the steps that evaluate (when the run asks for one).</summary>
    public string? Sample { get; init; }

    /// <summary>
    /// The step's training dynamics, when <c>diagnostics_interval</c> is set: on the run's first step (also after a
    /// resume) and every <c>diagnostics_interval</c> steps; null on the others.
    /// </summary>
    public TrainingDiagnostics? Diagnostics { get; init; }

    /// <summary>The run's <c>time_budget_minutes</c>; null when it has none.</summary>
    public TimeSpan? Budget { get; init; }

    /// <summary>The lowest validation loss so far and when it was reached; null before the first evaluation.</summary>
    public BestValidation? Best { get; init; }
}

/// <summary>The lowest validation loss of a run, the step that reached it and the training time it had taken then.</summary>
public sealed record BestValidation(double Loss, int Step, TimeSpan Elapsed);

/// <param name="Loss">Mean training loss of the last steps (up to <see cref="Trainer.LossWindow"/>).</param>
/// <param name="Validation">Null when the run holds out no validation split.</param>
/// <param name="Elapsed">The run's training time, a resumed run's earlier time included.</param>
/// <param name="Interrupted">The run was stopped before its last step (a spent time budget ends a run, not interrupts it).</param>
public sealed record TrainingSummary(
    int Steps,
    float Loss,
    Evaluation? Validation,
    double TokensPerSecond,
    TimeSpan Elapsed,
    bool Interrupted)
{
    /// <summary>The lowest validation loss of the run and when it was reached; null when it never evaluated.</summary>
    public BestValidation? Best { get; init; }
}
