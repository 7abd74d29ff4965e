using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <param name="Matrix">A weight matrix or embedding (two dimensions), as makemore plots the update ratios of.</param>
/// <param name="GradientNorm">‖g‖ of the step's gradient, before clipping.</param>
/// <param name="UpdateRatio">‖Δw‖ / ‖w‖ of the optimizer's step (NaN while ‖w‖ = 0, as for a bias before its first step).</param>
public readonly record struct TensorDiagnostics(string Name, bool Matrix, double GradientNorm, double UpdateRatio);

/// <summary>One step's look at the training dynamics: every parameter tensor, and the model's activations where it reports them.</summary>
public sealed record TrainingDiagnostics(IReadOnlyList<TensorDiagnostics> Tensors, IReadOnlyList<ActivationStatistics> Activations);

/// <summary>
/// Measures <see cref="TrainingDiagnostics"/> around one optimizer step: <see cref="BeforeUpdate"/> after backward
/// (gradient norms, activations of the last forward, a copy of the weights), <see cref="AfterUpdate"/> after the step
/// (‖Δw‖ / ‖w‖, the ratio makemore plots as std(Δw) / std(w), which it equals for zero-mean weights; norms keep
/// LayerNorm gains, whose std is 0 at the start, meaningful). The copy is allocated once, here, and only when a run asks.
/// </summary>
internal sealed class DiagnosticsRecorder(ILanguageModel model)
{
    private readonly float[] _before = new float[model.Parameters.Count];
    private readonly double[] _gradientNorms = new double[model.Parameters.Parameters.Count];
    private IReadOnlyList<ActivationStatistics> _activations = [];

    public void BeforeUpdate()
    {
        var parameters = model.Parameters.Parameters;
        for (var i = 0; i < parameters.Count; i++)
        {
            _gradientNorms[i] = Math.Sqrt(ElementWise.SumOfSquares(parameters[i].Grads));
        }
        _activations = model is IActivationInspection inspection ? inspection.MeasureActivations() : [];
        model.Parameters.Values.CopyTo(_before, 0);
    }

    public TrainingDiagnostics AfterUpdate()
    {
        var parameters = model.Parameters.Parameters;
        var tensors = new TensorDiagnostics[parameters.Count];
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            var before = _before.AsSpan(parameter.Offset, parameter.Length);
            var after = parameter.Values;
            double change = 0;
            for (var k = 0; k < after.Length; k++)
            {
                var delta = (double)after[k] - before[k];
                change += delta * delta;
            }
            var weight = Math.Sqrt(ElementWise.SumOfSquares(before));
            tensors[i] = new TensorDiagnostics(parameter.Name, parameter.Shape.Length == 2, _gradientNorms[i], weight > 0 ? Math.Sqrt(change) / weight : double.NaN);
        }
        return new TrainingDiagnostics(tensors, _activations);
    }
}
