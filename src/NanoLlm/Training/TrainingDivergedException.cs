namespace NanoLlm.Training;

/// <summary>The loss or the gradient stopped being a finite number: training cannot go on from here.</summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(int step, float loss, double gradientNorm)
        : base($"training diverged at step {step} (loss {loss}, gradient norm {gradientNorm})")
    {
        Step = step;
    }

    public TrainingDivergedException(string message, Exception innerException) : base(message, innerException) { }

    public TrainingDivergedException() { }

    public TrainingDivergedException(string message) : base(message) { }

    public int Step { get; }
}
