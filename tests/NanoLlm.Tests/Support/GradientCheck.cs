using NanoLlm.Model;

namespace NanoLlm.Tests.Support;

/// <summary>
/// Compares a model's analytic gradients with central finite differences, (L(θ+ε) − L(θ−ε)) / 2ε, on a sample of
/// its parameters. The loss is a float mean near 1, so with ε = 1e-3 float rounding (~1e-7) stays far below the
/// difference being measured, and ε is small enough that few ReLU kinks fall inside ±ε; the tolerance allows for the
/// O(ε²) truncation error and that rounding.
/// </summary>
public static class GradientCheck
{
    public static void AssertMatches(ILanguageModel model, int[] inputs, int[] targets, int batchSize, int length, int samples = 60, int seed = 7)
    {
        var parameters = model.Parameters;
        parameters.ZeroGrads();
        model.Forward(inputs, targets, batchSize, length);
        model.Backward();
        var analytic = (float[])parameters.Grads.Clone();

        var random = new Random(seed);
        const float epsilon = 1e-3f;
        for (var s = 0; s < samples; s++)
        {
            // Half the samples where the gradient is non-zero, so a sparse gradient is still checked where it matters.
            var index = s % 2 == 0 ? PickNonZero(analytic, random) : random.Next(parameters.Count);
            var original = parameters.Values[index];
            parameters.Values[index] = original + epsilon;
            var lossPlus = model.Forward(inputs, targets, batchSize, length);
            parameters.Values[index] = original - epsilon;
            var lossMinus = model.Forward(inputs, targets, batchSize, length);
            parameters.Values[index] = original;

            var numeric = (lossPlus - lossMinus) / (2 * epsilon);
            var tolerance = 2e-3f + 2e-2f * Math.Abs(numeric);
            Assert.True(
                Math.Abs(numeric - analytic[index]) <= tolerance,
                $"parameter {Describe(parameters, index)}: analytic {analytic[index]:G6}, numeric {numeric:G6}");
        }
    }

    private static int PickNonZero(float[] gradients, Random random)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var index = random.Next(gradients.Length);
            if (gradients[index] != 0)
            {
                return index;
            }
        }
        return random.Next(gradients.Length);
    }

    private static string Describe(ParameterSet parameters, int index)
    {
        var parameter = parameters.Parameters.Last(p => p.Offset <= index);
        return $"{parameter.Name}[{index - parameter.Offset}]";
    }
}
