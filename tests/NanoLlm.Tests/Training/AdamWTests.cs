using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class AdamWTests
{
    private static ParameterSet TwoParameters(int length)
    {
        var parameters = new ParameterSet([new("weight", [length], Decay: true), new("bias", [length], Decay: false)]);
        var random = new Random(4);
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters.Values[i] = (float)(random.NextDouble() * 2 - 1);
            parameters.Grads[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return parameters;
    }

    // The paper's Algorithm 2 with PyTorch's placement of the decay, in double, one element at a time.
    private static double[] Reference(double[] theta, double[][] grads, bool decay, OptimizerSettings s, double lr)
    {
        var (m, v, x) = (new double[theta.Length], new double[theta.Length], (double[])theta.Clone());
        for (var t = 1; t <= grads.Length; t++)
        {
            for (var i = 0; i < x.Length; i++)
            {
                var g = grads[t - 1][i];
                m[i] = (s.Beta1 * m[i]) + ((1 - s.Beta1) * g);
                v[i] = (s.Beta2 * v[i]) + ((1 - s.Beta2) * g * g);
                var mHat = m[i] / (1 - Math.Pow(s.Beta1, t));
                var vHat = v[i] / (1 - Math.Pow(s.Beta2, t));
                x[i] = x[i] - (lr * (decay ? s.WeightDecay : 0) * x[i]) - (lr * mHat / (Math.Sqrt(vHat) + s.Epsilon));
            }
        }
        return x;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(19)]
    public void Steps_match_the_update_computed_from_the_papers_formulas(int length)
    {
        var settings = new OptimizerSettings(Beta1: 0.9, Beta2: 0.99, Epsilon: 1e-8, WeightDecay: 0.1);
        var parameters = TwoParameters(length);
        var optimizer = new AdamW(settings, parameters.Count);
        var initial = parameters.Values.Select(v => (double)v).ToArray();
        var history = new List<double[]>();
        const double lr = 0.01;

        for (var step = 0; step < 3; step++)
        {
            history.Add(parameters.Grads.Select(g => (double)g).ToArray());
            optimizer.Update(parameters, (float)lr);
            // A different gradient each step, so the moments' running averages matter.
            for (var i = 0; i < parameters.Count; i++)
            {
                parameters.Grads[i] = (float)Math.Sin(i + step);
            }
        }

        var grads = history.ToArray();
        var weight = Reference(initial[..length], [.. grads.Select(g => g[..length])], decay: true, settings, lr);
        var bias = Reference(initial[length..], [.. grads.Select(g => g[length..])], decay: false, settings, lr);
        for (var i = 0; i < length; i++)
        {
            Assert.Equal(weight[i], parameters.Values[i], 1e-5);
            Assert.Equal(bias[i], parameters.Values[length + i], 1e-5);
        }
        Assert.Equal(3, optimizer.UpdateCount);
    }

    [Fact]
    public void Weight_decay_shrinks_only_the_views_marked_for_it()
    {
        var parameters = TwoParameters(8);
        Array.Clear(parameters.Grads);
        var before = (float[])parameters.Values.Clone();
        var optimizer = new AdamW(new OptimizerSettings(WeightDecay: 0.5), parameters.Count);

        optimizer.Update(parameters, 0.1f);

        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(before[i] * 0.95f, parameters.Values[i], 1e-6);
            Assert.Equal(before[8 + i], parameters.Values[8 + i]);
        }
    }

    [Fact]
    public void A_step_allocates_nothing()
    {
        var parameters = TwoParameters(100);
        var optimizer = new AdamW(new OptimizerSettings(), parameters.Count);
        optimizer.Update(parameters, 0.1f);

        var before = GC.GetAllocatedBytesForCurrentThread();
        optimizer.Update(parameters, 0.1f);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(false, 1f)]
    [InlineData(true, 0.95f)]
    public void Embedding_tables_are_decayed_only_when_asked_gains_and_biases_never(bool decayEmbeddings, float embeddingKept)
    {
        var parameters = new ParameterSet([new("wte", [4, 2], Decay: false), new("gain", [2], Decay: false), new("w", [2, 2], Decay: true)]);
        parameters.Values.AsSpan().Fill(1f);
        var optimizer = new AdamW(new OptimizerSettings(WeightDecay: 0.5, DecayEmbeddings: decayEmbeddings), parameters.Count);

        optimizer.Update(parameters, 0.1f);

        Assert.All(parameters["wte"].Values.ToArray(), v => Assert.Equal(embeddingKept, v, 1e-6));
        Assert.All(parameters["gain"].Values.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(parameters["w"].Values.ToArray(), v => Assert.Equal(0.95f, v, 1e-6));
    }
}
