using NanoLlm.Model;

namespace NanoLlm.Training;

/// <summary>Updates every parameter from its gradient in one pass over the flat buffers.</summary>
public interface IOptimizer
{
    /// <summary>Updates taken so far.</summary>
    int UpdateCount { get; set; }

    /// <summary>The optimizer's own buffers, by name (what a checkpoint saves so a resumed run continues exactly).</summary>
    IReadOnlyList<KeyValuePair<string, float[]>> State { get; }

    void Update(ParameterSet parameters, float learningRate);
}
