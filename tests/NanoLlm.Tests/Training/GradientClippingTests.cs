using NanoLlm.Model;
using NanoLlm.Tensors;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class GradientClippingTests
{
    private static ParameterSet WithGradients(params float[] grads)
    {
        var parameters = new ParameterSet([new("a", [2], true), new("b", [grads.Length - 2], false)]);
        grads.CopyTo(parameters.Grads, 0);
        return parameters;
    }

    [Fact]
    public void The_clipped_global_norm_equals_grad_clip_and_the_direction_is_kept()
    {
        var parameters = WithGradients(3, 4, 12, 0);

        var norm = GradientClipping.Clip(parameters, 1.0);

        Assert.Equal(13, norm, 1e-9);
        Assert.Equal(1.0, GradientClipping.GlobalNorm(parameters), 1e-6);
        float[] expected = [3f / 13, 4f / 13, 12f / 13, 0f];
        Assert.All(Enumerable.Range(0, 4), i => Assert.Equal(expected[i], parameters.Grads[i], 1e-6f));
    }

    [Fact]
    public void Gradients_below_the_limit_are_left_alone()
    {
        var parameters = WithGradients(0.3f, 0.4f, 0, 0);

        var norm = GradientClipping.Clip(parameters, 1.0);

        Assert.Equal(0.5, norm, 1e-6);
        Assert.Equal([0.3f, 0.4f, 0f, 0f], parameters.Grads);
    }

    [Fact]
    public void The_scale_an_optimizer_folds_in_is_the_one_clip_applies()
    {
        var (clipped, measured) = (WithGradients(3, 4, 12, 0), WithGradients(3, 4, 12, 0));

        GradientClipping.Clip(clipped, 1.0);
        var scale = GradientClipping.ScaleFor(GradientClipping.GlobalNorm(measured), 1.0);

        Assert.Equal(clipped.Grads, measured.Grads.Select(g => g * scale).ToArray());
        Assert.Equal(1f, GradientClipping.ScaleFor(0.5, 1.0));
    }

    [Fact]
    public void The_global_norm_is_the_same_bits_on_one_and_two_threads()
    {
        var parameters = new ParameterSet([new("w", [700, 300], true), new("b", [301], false)]);
        var random = new Random(3);
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters.Grads[i] = (float)(random.NextDouble() - 0.5);
        }
        double Norm(int threads)
        {
            using (KernelSettings.Override(KernelSettings.HardwareVectorWidth, threads))
            {
                return GradientClipping.GlobalNorm(parameters);
            }
        }

        Assert.Equal(BitConverter.DoubleToInt64Bits(Norm(1)), BitConverter.DoubleToInt64Bits(Norm(2)));
        Assert.Equal(Math.Sqrt(parameters.Grads.Sum(g => (double)g * g)), Norm(2), 1e-9);
    }
}
