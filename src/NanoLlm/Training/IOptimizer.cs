using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>Updates every parameter from its gradient in one pass over the flat buffers.</summary>
public interface IOptimizer
{
    /// <summary>Updates taken so far.</summary>
    int UpdateCount { get; set; }

    /// <summary>The optimizer's own buffers, by name (what a checkpoint saves so a resumed run continues exactly).</summary>
    IReadOnlyList<KeyValuePair<string, float[]>> State { get; }

    void Update(ParameterSet parameters, float learningRate);

    /// <summary>
    /// An update from the gradients times <paramref name="gradientScale"/> (gradient clipping's factor): the numbers of
    /// scaling the gradients, then <see cref="Update(ParameterSet, float)"/>. An optimizer may fold the scale into its
    /// own pass and leave the gradients unscaled.
    /// </summary>
    void Update(ParameterSet parameters, float learningRate, float gradientScale)
    {
        if (gradientScale != 1f)
        {
            ElementWise.Scale(parameters.Grads, gradientScale);
        }
        Update(parameters, learningRate);
    }
}
