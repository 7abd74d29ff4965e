using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>Clipping by global norm (Pascanu et al. 2013): all gradients are scaled together, keeping their direction.</summary>
public static class GradientClipping
{
    /// <summary>‖g‖₂ over every parameter, summed in double, in fixed chunks the threads share (the same for any thread count).</summary>
    public static double GlobalNorm(ParameterSet parameters) => Math.Sqrt(ElementWise.ChunkedSumOfSquares(parameters.Grads));

    // g ← g · min(1, c/‖g‖)
    /// <summary>Scales the gradients so their global norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static double Clip(ParameterSet parameters, double maxNorm)
    {
        var norm = GlobalNorm(parameters);
        var scale = ScaleFor(norm, maxNorm);
        if (scale != 1f)
        {
            ElementWise.Scale(parameters.Grads, scale);
        }
        return norm;
    }

    /// <summary>The factor <see cref="Clip"/> multiplies gradients of norm <paramref name="norm"/> by: c/‖g‖ above c = <paramref name="maxNorm"/>, else 1.</summary>
    public static float ScaleFor(double norm, double maxNorm) => norm > maxNorm ? (float)(maxNorm / norm) : 1f;
}
