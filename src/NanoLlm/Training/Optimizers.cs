using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Training;

/// <summary>The <c>optimizer</c> key of <c>[training]</c>: which <see cref="IOptimizer"/> a run uses.</summary>
public static class Optimizers
{
    public static IOptimizer Create(TrainingSettings settings, ParameterSet parameters) => settings.Optimizer switch
    {
        TrainingSettings.AdamWName => new AdamW(settings.AdamW, parameters.Count),
        TrainingSettings.MuonName => new Muon(settings, parameters),
        _ => new Sgd(),
    };
}
