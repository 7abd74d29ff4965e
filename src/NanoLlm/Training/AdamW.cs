using System.Numerics;
using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Training;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019), as PyTorch's <c>AdamW</c>: moments and bias
/// correction as in Adam (Kingma &amp; Ba 2015), and the decay shrinks the weights directly instead of entering the
/// gradient. Only parameters whose view says <see cref="Parameter.Decay"/> (matrices) are decayed, and the embedding
/// tables too with <see cref="OptimizerSettings.DecayEmbeddings"/> (every 2-D tensor, as nanoGPT). The moments are
/// two flat buffers beside the parameters, so a step is one vectorized pass.
/// </summary>
public sealed class AdamW : IOptimizer
{
    private readonly OptimizerSettings _settings;

    public AdamW(OptimizerSettings settings, int parameterCount)
    {
        _settings = settings;
        FirstMoments = new float[parameterCount];
        SecondMoments = new float[parameterCount];
        State = [new("adamw.m", FirstMoments), new("adamw.v", SecondMoments)];
    }

    /// <summary>m: the running mean of gradients.</summary>
    public float[] FirstMoments { get; }

    /// <summary>v: the running mean of squared gradients.</summary>
    public float[] SecondMoments { get; }

    /// <summary>Updates taken so far (t in the bias correction).</summary>
    public int UpdateCount { get; set; }

    public IReadOnlyList<KeyValuePair<string, float[]>> State { get; }

    // m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  θ ← θ − η·λ·θ [decayed only] − η·m̂/(√v̂ + ε)
    public void Update(ParameterSet parameters, float learningRate) => Update(parameters, learningRate, skipHiddenMatrices: false);

    /// <summary>One step; with <paramref name="skipHiddenMatrices"/> the hidden matrices are left to another optimizer (Muon).</summary>
    internal void Update(ParameterSet parameters, float learningRate, bool skipHiddenMatrices)
    {
        UpdateCount++;
        var (beta1, beta2) = ((float)_settings.Beta1, (float)_settings.Beta2);
        var correction1 = 1 - Math.Pow(_settings.Beta1, UpdateCount);
        var correction2 = 1 - Math.Pow(_settings.Beta2, UpdateCount);
        // Folding the corrections into the step size: η·m̂/(√v̂+ε) = (η/c₁)·m / (√v/√c₂ + ε).
        var stepSize = (float)(learningRate / correction1);
        var inverseRootCorrection2 = (float)(1 / Math.Sqrt(correction2));
        var epsilon = (float)_settings.Epsilon;
        // An index loop: foreach over the IReadOnlyList would allocate its enumerator every step.
        for (var p = 0; p < parameters.Parameters.Count; p++)
        {
            var parameter = parameters.Parameters[p];
            if (skipHiddenMatrices && parameter.HiddenMatrix)
            {
                continue;
            }
            var decayed = parameter.Decay || (_settings.DecayEmbeddings && parameter.Shape.Length == 2);
            var keep = decayed ? 1 - (learningRate * (float)_settings.WeightDecay) : 1f;
            Update(
                parameter.Values, parameter.Grads, FirstMoments.AsSpan(parameter.Offset, parameter.Length), SecondMoments.AsSpan(parameter.Offset, parameter.Length),
                beta1, beta2, stepSize, inverseRootCorrection2, epsilon, keep);
        }
    }

    private static void Update(
        Span<float> values, ReadOnlySpan<float> grads, Span<float> m, Span<float> v,
        float beta1, float beta2, float stepSize, float inverseRootCorrection2, float epsilon, float keep)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (b1, b2, c1, c2) = (new Vector<float>(beta1), new Vector<float>(beta2), new Vector<float>(1 - beta1), new Vector<float>(1 - beta2));
            var (size, rootCorrection, eps, decay) = (new Vector<float>(stepSize), new Vector<float>(inverseRootCorrection2), new Vector<float>(epsilon), new Vector<float>(keep));
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var g = new Vector<float>(grads[i..]);
                var mi = (b1 * new Vector<float>(m[i..])) + (c1 * g);
                var vi = (b2 * new Vector<float>(v[i..])) + (c2 * g * g);
                var denominator = (Vector.SquareRoot(vi) * rootCorrection) + eps;
                var theta = (new Vector<float>(values[i..]) * decay) - (size * mi / denominator);
                mi.CopyTo(m[i..]);
                vi.CopyTo(v[i..]);
                theta.CopyTo(values[i..]);
            }
        }
        for (; i < values.Length; i++)
        {
            var g = grads[i];
            m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
            values[i] = (values[i] * keep) - (stepSize * m[i] / ((MathF.Sqrt(v[i]) * inverseRootCorrection2) + epsilon));
        }
    }
}
