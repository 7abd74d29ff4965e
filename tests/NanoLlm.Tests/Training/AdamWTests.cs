using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;
using NanoLlm.Training;
using static NanoLlm.Tests.Tensors.KernelTestData;

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

    // Parameters of odd sizes, so the threads' fixed chunks and the vectors' tails fall inside parameters: one of
    // each kind (decayed, not decayed, a hidden matrix Muon would take), with gradients that vary step to step.
    private static ParameterSet MixedParameters()
    {
        var parameters = new ParameterSet(
        [
            new("wte", [300, 111], Decay: false),
            new("h.0.w", [257, 129], Decay: true) { HiddenMatrix = true },
            new("h.0.b", [257], Decay: false),
            new("lm_head", [41_000], Decay: true),
        ]);
        var random = new Random(5);
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters.Values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return parameters;
    }

    private static void FillGradients(ParameterSet parameters, int step)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters.Grads[i] = (float)Math.Sin((i * 0.37) + step);
        }
    }

    // The update as one scalar loop per parameter, the arithmetic (and rounding) the kernel must give at every width.
    private static void ScalarUpdate(ParameterSet parameters, float[] m, float[] v, OptimizerSettings s, float lr, int t, bool skipHidden)
    {
        var (beta1, beta2) = ((float)s.Beta1, (float)s.Beta2);
        var stepSize = (float)(lr / (1 - Math.Pow(s.Beta1, t)));
        var rootCorrection = (float)(1 / Math.Sqrt(1 - Math.Pow(s.Beta2, t)));
        foreach (var parameter in parameters.Parameters)
        {
            if (skipHidden && parameter.HiddenMatrix)
            {
                continue;
            }
            var keep = parameter.Decay ? 1 - (lr * (float)s.WeightDecay) : 1f;
            for (var i = parameter.Offset; i < parameter.Offset + parameter.Length; i++)
            {
                var g = parameters.Grads[i];
                m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
                v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
                parameters.Values[i] = (parameters.Values[i] * keep) - (stepSize * m[i] / ((MathF.Sqrt(v[i]) * rootCorrection) + (float)s.Epsilon));
            }
        }
    }

    public static TheoryData<int, int, bool> WidthsThreadsAndSkips()
    {
        var data = new TheoryData<int, int, bool>();
        foreach (var width in (int[])[512, 256, 128, 0])
        {
            foreach (var threads in (int[])[1, 2])
            {
                data.Add(width, threads, false);
                data.Add(width, threads, true);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(WidthsThreadsAndSkips))]
    public void Every_width_and_thread_count_gives_the_bits_of_the_scalar_update(int width, int threads, bool skipHiddenMatrices)
    {
        var settings = new OptimizerSettings(Beta1: 0.9, Beta2: 0.95, Epsilon: 1e-8, WeightDecay: 0.1);
        var (actual, expected) = (MixedParameters(), MixedParameters());
        var optimizer = new AdamW(settings, actual.Count);
        var (m, v) = (new float[expected.Count], new float[expected.Count]);

        for (var step = 1; step <= 3; step++)
        {
            FillGradients(actual, step);
            FillGradients(expected, step);
            using (KernelSettings.Override(width, threads))
            {
                optimizer.Update(actual, 0.01f, skipHiddenMatrices);
            }
            ScalarUpdate(expected, m, v, settings, 0.01f, step, skipHiddenMatrices);
        }

        AssertBitIdentical(expected.Values, actual.Values);
        AssertBitIdentical(m, optimizer.FirstMoments);
        AssertBitIdentical(v, optimizer.SecondMoments);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_gradient_scale_gives_the_bits_of_clipping_first(int threads)
    {
        var settings = new OptimizerSettings(WeightDecay: 0.1);
        var (folded, clipped) = (MixedParameters(), MixedParameters());
        var (foldedOptimizer, clippedOptimizer) = (new AdamW(settings, folded.Count), new AdamW(settings, clipped.Count));

        using (KernelSettings.Override(KernelSettings.HardwareVectorWidth, threads))
        {
            for (var step = 1; step <= 2; step++)
            {
                FillGradients(folded, step);
                FillGradients(clipped, step);
                var norm = GradientClipping.GlobalNorm(folded);
                ((IOptimizer)foldedOptimizer).Update(folded, 0.01f, GradientClipping.ScaleFor(norm, 1.0));
                GradientClipping.Clip(clipped, 1.0);
                clippedOptimizer.Update(clipped, 0.01f);
            }
        }

        Assert.True(GradientClipping.GlobalNorm(MixedWithGradients()) > 1.0, "the test's gradients must be clipped");
        AssertBitIdentical(clipped.Values, folded.Values);
        AssertBitIdentical(clippedOptimizer.SecondMoments, foldedOptimizer.SecondMoments);
    }

    [Fact]
    public void The_default_gradient_scale_of_an_optimizer_scales_the_gradients_first()
    {
        var (scaled, plain) = (TwoParameters(5), TwoParameters(5));
        for (var i = 0; i < plain.Count; i++)
        {
            plain.Grads[i] *= 0.25f;
        }

        ((IOptimizer)new Sgd()).Update(scaled, 0.1f, 0.25f);
        new Sgd().Update(plain, 0.1f);

        Assert.Equal(plain.Values, scaled.Values);
    }

    private static ParameterSet MixedWithGradients()
    {
        var parameters = MixedParameters();
        FillGradients(parameters, 1);
        return parameters;
    }
}
