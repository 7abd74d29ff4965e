using System.Diagnostics;
using NanoLlm.Config;
using NanoLlm.Data;
using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>
/// The training loop (nanoGPT's train.py on one screen): sample a batch → forward → backward → step → report,
/// with evaluation on the held-out split every <c>eval_interval</c> steps and at the end.
/// </summary>
public sealed class Trainer
{
    /// <summary>The summary's training loss is the mean over this many last steps, smoothing batch noise.</summary>
    public const int LossWindow = 20;

    private readonly ILanguageModel _model;
    private readonly IOptimizer _optimizer;
    private readonly TrainingSettings _settings;
    private readonly int _length;
    private readonly int[] _inputs;
    private readonly int[] _targets;
    private readonly DiagnosticsRecorder? _diagnostics;
    private readonly Stopwatch _clock = new();

    /// <param name="trainLength">Tokens in the training split's longest segment: a window fits in one segment.</param>
    public Trainer(ILanguageModel model, IOptimizer optimizer, TrainingSettings settings, long trainLength)
    {
        if (trainLength < 2)
        {
            throw new ArgumentException("The training split needs at least two tokens.", nameof(trainLength));
        }
        _model = model;
        _optimizer = optimizer;
        _settings = settings;
        _length = (int)Math.Min(model.Spec.ContextLength, trainLength - 1);
        _inputs = new int[settings.BatchSize * _length];
        _targets = new int[settings.BatchSize * _length];
        _diagnostics = settings.DiagnosticsInterval > 0 ? new DiagnosticsRecorder(model) : null;
    }

    /// <summary>Tokens per training window: the model's context, or less when the corpus is shorter.</summary>
    public int WindowLength => _length;

    /// <summary>
    /// <c>steps</c>, or <c>epochs</c> × the steps one pass over the training tokens takes; without either (a run sized
    /// by <c>time_budget_minutes</c> alone), no limit.
    /// </summary>
    public int TotalSteps(long trainLength) =>
        _settings.Steps > 0 ? _settings.Steps
        : _settings.Epochs > 0 ? checked(_settings.Epochs * (int)Math.Ceiling((trainLength - 1) / (double)(_settings.BatchSize * _length * _settings.GradAccumulationSteps)))
        : int.MaxValue;

    /// <summary>The step to start from: 0, or the step a resumed checkpoint was written at.</summary>
    public int StartStep { get; init; }

    /// <summary>Training time already spent before <see cref="StartStep"/> (a resumed run's), counted against <c>time_budget_minutes</c>.</summary>
    public TimeSpan StartElapsed { get; init; }

    /// <summary>The best validation so far before <see cref="StartStep"/> (a resumed run's): a later one must beat it.</summary>
    public BestValidation? StartBest { get; init; }

    /// <summary>Training time so far, the resumed run's included: steps, evaluations, samples and checkpoints alike.</summary>
    public TimeSpan Elapsed => StartElapsed + _clock.Elapsed;

    /// <summary>The best validation so far (the resumed run's included); null before the first evaluation.</summary>
    public BestValidation? Best { get; private set; }

    public TrainingSummary Run(TokenSplit train, TokenSplit validation, TrainingHooks hooks, CancellationToken cancellation)
    {
        var totalSteps = TotalSteps(train.Length);
        var batchSize = _settings.BatchSize;
        var recentLosses = new float[LossWindow];
        _clock.Restart();
        var step = StartStep;
        Evaluation? lastValidation = null;
        Best = StartBest;
        var schedule = new LearningRateSchedule(_settings, totalSteps);
        var accumulation = _settings.GradAccumulationSteps;
        var parameters = _model.Parameters;
        // The budget counts evaluations too: it is the wall clock a user waits, and a run's curve is what it bought.
        TimeSpan? budget = _settings.TimeBudgetMinutes > 0 ? TimeSpan.FromMinutes(_settings.TimeBudgetMinutes) : null;
        var budgetSpent = budget <= Elapsed;
        while (step < totalSteps && !budgetSpent && !cancellation.IsCancellationRequested)
        {
            // One step averages the gradients of grad_accumulation_steps micro-batches: a bigger batch in the same memory.
            parameters.ZeroGrads();
            var loss = 0f;
            for (var micro = 0; micro < accumulation; micro++)
            {
                // Random windows, as nanoGPT samples them: an epoch is a pass's worth of tokens, not a strict permutation.
                var random = new SplitMix64(_settings.Seed, ((long)step * accumulation) + micro);
                for (var b = 0; b < batchSize; b++)
                {
                    // A corpus of 2³¹ window starts or more needs the 64-bit draw; a smaller one keeps the 32-bit draw it always had.
                    var starts = train.WindowStarts(_length);
                    var start = starts <= int.MaxValue ? random.Next((int)starts) : random.NextLong(starts);
                    train.Window(start, _inputs.AsSpan(b * _length, _length), _targets.AsSpan(b * _length, _length));
                }
                _model.Training = true;
                loss += _model.Forward(_inputs, _targets, batchSize, _length) / accumulation;
                _model.Backward();
            }
            if (accumulation > 1)
            {
                ElementWise.Scale(parameters.Grads, 1f / accumulation);
            }
            var diagnoseNow = _diagnostics is not null && (step == StartStep || (step + 1) % _settings.DiagnosticsInterval == 0);
            if (diagnoseNow)
            {
                _diagnostics!.BeforeUpdate();
            }
            var gradientNorm = GradientClipping.GlobalNorm(parameters);
            if (!float.IsFinite(loss) || !double.IsFinite(gradientNorm))
            {
                throw new TrainingDivergedException(step + 1, loss, gradientNorm);
            }
            var learningRate = budget is { } timeBudget ? schedule.At(step, Elapsed / timeBudget) : schedule.At(step);
            // Clipping's scale goes into the update's own pass over the gradients.
            _optimizer.Update(parameters, (float)learningRate, _settings.GradClip > 0 ? GradientClipping.ScaleFor(gradientNorm, _settings.GradClip) : 1f);
            var diagnostics = diagnoseNow ? _diagnostics!.AfterUpdate() : null;
            recentLosses[(step - StartStep) % LossWindow] = loss;
            step++;
            budgetSpent = budget <= Elapsed;
            var finished = step == totalSteps || budgetSpent;

            var evaluateNow = finished || (_settings.EvalInterval > 0 && step % _settings.EvalInterval == 0);
            Evaluation? validationNow = null, trainingNow = null;
            string? sample = null;
            if (evaluateNow)
            {
                validationNow = Evaluate(validation);
                trainingNow = Evaluate(train, Math.Max(EvaluationWindows(validation), _settings.BatchSize));
                lastValidation = validationNow ?? lastValidation;
                hooks.Evaluated?.Invoke(step, validationNow);
                sample = hooks.Sample?.Invoke();
            }
            var elapsed = Elapsed;
            if (validationNow is { } v && (Best is null || v.Loss < Best.Loss))
            {
                Best = new BestValidation(v.Loss, step, elapsed);
            }
            hooks.Progress?.Invoke(new TrainingProgress(
                step, totalSteps, loss, learningRate, gradientNorm, TokensPerSecond(step - StartStep, _clock.Elapsed), elapsed, trainingNow, validationNow)
            {
                Budget = budget,
                Best = Best,
                Sample = sample,
                Diagnostics = diagnostics,
            });
            if (finished || (_settings.CheckpointInterval > 0 && step % _settings.CheckpointInterval == 0))
            {
                hooks.Checkpoint?.Invoke(step);
            }
        }

        var interrupted = step < totalSteps && !budgetSpent;
        if (interrupted && step > StartStep)
        {
            lastValidation = Evaluate(validation);
            if (lastValidation is { } v && (Best is null || v.Loss < Best.Loss))
            {
                Best = new BestValidation(v.Loss, step, Elapsed);
            }
            hooks.Evaluated?.Invoke(step, lastValidation);
            hooks.Checkpoint?.Invoke(step);
        }
        var window = Math.Min(step - StartStep, LossWindow);
        var meanLoss = window == 0 ? float.NaN : recentLosses.AsSpan(0, window).ToArray().Average();
        return new TrainingSummary(step, meanLoss, lastValidation, TokensPerSecond(step - StartStep, _clock.Elapsed), Elapsed, interrupted) { Best = Best };
    }

    /// <summary>
    /// Scores a split with consecutive windows from its start (deterministic, no sampling): <c>eval_batches</c>
    /// batches of them, or the whole split when that is 0, and never more than <paramref name="maxWindows"/>.
    /// Null when the split is too short for one window.
    /// </summary>
    public Evaluation? Evaluate(TokenSplit split, long maxWindows = long.MaxValue)
    {
        var windows = Math.Min(EvaluationWindows(split), maxWindows);
        if (windows == 0)
        {
            return null;
        }
        var batchSize = _settings.BatchSize;
        _model.Training = false;
        double totalNats = 0;
        long totalBytes = 0;
        for (var first = 0L; first < windows; first += batchSize)
        {
            var rows = (int)Math.Min(batchSize, windows - first);
            for (var b = 0; b < rows; b++)
            {
                split.ConsecutiveWindow(first + b, _inputs.AsSpan(b * _length, _length), _targets.AsSpan(b * _length, _length));
            }
            var used = rows * _length;
            totalNats += (double)_model.Forward(_inputs.AsSpan(0, used), _targets.AsSpan(0, used), rows, _length) * used;
            foreach (var target in _targets.AsSpan(0, used))
            {
                totalBytes += split.BytesPerToken[target];
            }
        }
        var tokens = (double)windows * _length;
        return new Evaluation(totalNats / tokens, totalNats / Math.Log(2) / totalBytes);
    }

    // The training split is scored on as many windows as the validation split (at least one batch), so watching
    // both costs twice one evaluation, not a pass over the whole training text.
    private long EvaluationWindows(TokenSplit split)
    {
        var windows = split.ConsecutiveWindows(_length);
        return _settings.EvalBatches > 0 ? Math.Min(windows, (long)_settings.EvalBatches * _settings.BatchSize) : windows;
    }

    private double TokensPerSecond(int steps, TimeSpan elapsed) =>
        elapsed.TotalSeconds > 0 ? (double)steps * _settings.GradAccumulationSteps * _settings.BatchSize * _length / elapsed.TotalSeconds : 0;
}
