using NanoLlm.Model;

namespace NanoLlm.Training;

/// <summary>Updates every parameter from its gradient in one pass over the flat buffers.</summary>
public interface IOptimizer
{
    void Update(ParameterSet parameters, float learningRate);
}
