using NanoLlm.Config;

namespace NanoLlm.Training;

/// <summary>
/// The learning rate at each step: a linear warmup from 0 over <c>warmup_steps</c>, then constant, or a cosine from
/// <c>learning_rate</c> down to <c>min_learning_rate</c> at <c>decay_steps</c> (the run's last step by default), and
/// the minimum after that (as nanoGPT's <c>get_lr</c>), or warmup–stable–decay (<c>wsd</c>): constant until the last
/// <c>decay_fraction</c> of the run, then a straight line down to the minimum at its end. A run with a time budget
/// measures its progress in time instead: <see cref="At(int, double)"/> takes the fraction of the budget spent.
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly double _max;
    private readonly double _min;
    private readonly int _warmup;
    private readonly int _decaySteps;
    private readonly bool _cosine;
    private readonly bool _wsd;
    private readonly double _decayFraction;

    public LearningRateSchedule(TrainingSettings settings, int totalSteps)
    {
        _max = settings.LearningRate;
        _min = settings.MinLearningRate;
        _warmup = settings.WarmupSteps;
        _decaySteps = settings.DecaySteps > 0 ? settings.DecaySteps : totalSteps;
        _cosine = settings.Schedule == TrainingSettings.CosineSchedule;
        _wsd = settings.Schedule == TrainingSettings.WsdSchedule;
        _decayFraction = settings.DecayFraction;
    }

    /// <summary>The rate for step <paramref name="step"/>, counted from 0.</summary>
    // warmup: η·(s+1)/W;  cosine: η_min + ½(1 + cos(π·(s − W)/(D − W)))·(η − η_min)
    public double At(int step)
    {
        if (step < _warmup)
        {
            return _max * (step + 1) / _warmup;
        }
        if (_wsd)
        {
            return StableThenDecay(step / (double)_decaySteps);
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

    /// <summary>
    /// The rate for step <paramref name="step"/> when the fraction <paramref name="progress"/> of the run's time budget
    /// is spent: the warmup still counts steps; the cosine and wsd's decay follow the budget.
    /// </summary>
    // cosine: η_min + ½(1 + cos(π·p))·(η − η_min)
    public double At(int step, double progress)
    {
        progress = Math.Clamp(progress, 0, 1);
        if (step < _warmup)
        {
            return _max * (step + 1) / _warmup;
        }
        if (_wsd)
        {
            return StableThenDecay(progress);
        }
        return _cosine ? _min + (0.5 * (1 + Math.Cos(Math.PI * progress)) * (_max - _min)) : _max;
    }

    // wsd at progress p: η while p < 1 − f, then η_min + (η − η_min)·(1 − p)/f, reaching η_min at p = 1
    private double StableThenDecay(double progress) =>
        progress < 1 - _decayFraction ? _max : _min + ((_max - _min) * Math.Max(0, 1 - progress) / _decayFraction);
}
