using System.Numerics;
using NanoLlm.Model;

namespace NanoLlm.Training;

/// <summary>Plain stochastic gradient descent.</summary>
public sealed class Sgd : IOptimizer
{
    public int UpdateCount { get; set; }

    public IReadOnlyList<KeyValuePair<string, float[]>> State => [];

    // θ ← θ − η·g
    public void Update(ParameterSet parameters, float learningRate)
    {
        UpdateCount++;
        var values = parameters.Values.AsSpan();
        var grads = parameters.Grads.AsSpan();
        var step = new Vector<float>(-learningRate);
        var i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var updated = Vector.FusedMultiplyAdd(new Vector<float>(grads[i..]), step, new Vector<float>(values[i..]));
            updated.CopyTo(values[i..]);
        }
        for (; i < values.Length; i++)
        {
            values[i] = MathF.FusedMultiplyAdd(grads[i], -learningRate, values[i]);
        }
    }
}
