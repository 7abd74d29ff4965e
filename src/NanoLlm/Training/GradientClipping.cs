using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>Clipping by global norm (Pascanu et al. 2013): all gradients are scaled together, keeping their direction.</summary>
public static class GradientClipping
{
    /// <summary>‖g‖₂ over every parameter, summed in double.</summary>
    public static double GlobalNorm(ParameterSet parameters) => Math.Sqrt(ElementWise.SumOfSquares(parameters.Grads));

    // g ← g · min(1, c/‖g‖)
    /// <summary>Scales the gradients so their global norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static double Clip(ParameterSet parameters, double maxNorm)
    {
        var norm = GlobalNorm(parameters);
        if (norm > maxNorm)
        {
            ElementWise.Scale(parameters.Grads, (float)(maxNorm / norm));
        }
        return norm;
    }
}
