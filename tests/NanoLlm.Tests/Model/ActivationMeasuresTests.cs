using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Tests.Model;

public sealed class ActivationMeasuresTests
{
    private static double Gelu(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x))));

    [Fact]
    public void Gelu_statistics_are_of_its_output_and_saturation_counts_inputs_below_minus_3()
    {
        float[] inputs = [-4f, -1f, 0f, 2f, -3.5f];
        var outputs = inputs.Select(x => Gelu(x)).ToArray();
        var mean = outputs.Average();

        var statistics = ActivationMeasures.Gelu("h.0.gelu", inputs);

        Assert.Equal("h.0.gelu", statistics.Site);
        Assert.Equal(mean, statistics.Mean, 1e-9);
        Assert.Equal(Math.Sqrt(outputs.Average(a => (a - mean) * (a - mean))), statistics.StandardDeviation, 1e-9);
        Assert.Equal(0.4, statistics.Saturated, 1e-12);
    }

    [Fact]
    public void Relu_saturation_is_the_fraction_of_dead_units()
    {
        var statistics = ActivationMeasures.Relu("hidden.0.relu", [-1f, 0f, 3f, 1f]);

        Assert.Equal(1.0, statistics.Mean, 1e-12);
        Assert.Equal(0.5, statistics.Saturated, 1e-12);
    }

    [Fact]
    public void Attention_statistics_cover_the_causal_entries_and_count_one_hot_rows_after_the_first()
    {
        // Two 3×3 matrices: rows 1 and 2 of the first are one-hot and spread; of the second, spread and one-hot.
        float[] weights =
        [
            1f, 0f, 0f, /**/ 0.995f, 0.005f, 0f, /**/ 0.3f, 0.3f, 0.4f,
            1f, 0f, 0f, /**/ 0.5f, 0.5f, 0f, /**/ 0f, 0f, 1f,
        ];

        var statistics = ActivationMeasures.CausalAttention("h.0.attn", weights, matrices: 2, t: 3);

        double[] causal = [1, 0.995, 0.005, 0.3, 0.3, 0.4, 1, 0.5, 0.5, 0, 0, 1];
        Assert.Equal(causal.Average(), statistics.Mean, 1e-6);
        Assert.Equal(0.5, statistics.Saturated, 1e-12);
    }

    [Fact]
    public void The_gpt_reports_a_gelu_and_an_attention_site_per_block_from_its_last_forward()
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new(4L, "test"),
            ["embedding_size"] = new(8L, "test"),
            ["layers"] = new(2L, "test"),
            ["heads"] = new(2L, "test"),
        });
        var model = new GptModel(11, settings);
        model.Initialize(new Random(1));
        int[] tokens = [1, 2, 3, 4, 5, 6, 7, 8];
        model.Forward(tokens, tokens, 2, 4);

        var statistics = model.MeasureActivations();

        Assert.Equal(["h.0.gelu", "h.0.attn", "h.1.gelu", "h.1.attn"], statistics.Select(s => s.Site));
        var attention = model.AttentionWeights(1).ToArray();
        // Each query row sums to 1 over its i + 1 keys: the causal entries' mean is (Σ rows) / (entries).
        Assert.Equal(2.0 * 2 * 4 / (2 * 2 * 10), statistics[3].Mean, 1e-6);
        Assert.Equal(2 * 2 * 4 * 4, attention.Length);
    }
}
