using NanoLlm.Config;

namespace NanoLlm.Training;

/// <summary>
/// The learning rate at each step: a linear warmup from 0 over <c>warmup_steps</c>, then constant, or a cosine from
/// <c>learning_rate</c> down to <c>min_learning_rate</c> at <c>decay_steps</c> (the run's last step by default), and
/// the minimum after that (as nanoGPT's <c>get_lr</c>).
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly double _max;
    private readonly double _min;
    private readonly int _warmup;
    private readonly int _decaySteps;
    private readonly bool _cosine;

    public LearningRateSchedule(TrainingSettings settings, int totalSteps)
    {
        _max = settings.LearningRate;
        _min = settings.MinLearningRate;
        _warmup = settings.WarmupSteps;
        _decaySteps = settings.DecaySteps > 0 ? settings.DecaySteps : totalSteps;
        _cosine = settings.Schedule == TrainingSettings.CosineSchedule;
    }

    /// <summary>The rate for step <paramref name="step"/>, counted from 0.</summary>
    // warmup: η·(s+1)/W;  cosine: η_min + ½(1 + cos(π·(s − W)/(D − W)))·(η − η_min)
    public double At(int step)
    {
        if (step < _warmup)
        {
            return _max * (step + 1) / _warmup;
        }
        if (!_cosine)
        {
            return _max;
        }
        if (step >= _decaySteps)
        {
            return _min;
        }
        var progress = (step - _warmup) / (double)Math.Max(1, _decaySteps - _warmup);
        return _min + (0.5 * (1 + Math.Cos(Math.PI * progress)) * (_max - _min));
    }
}
