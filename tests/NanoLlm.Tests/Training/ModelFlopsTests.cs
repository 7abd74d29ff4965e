using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class ModelFlopsTests
{
    private static GptModel BabyGpt(string positional, bool tied) => new(256, new SettingsSection("model", "test", new Dictionary<string, SettingValue>
    {
        ["context_length"] = new(64L, "test"),
        ["embedding_size"] = new(128L, "test"),
        ["layers"] = new(4L, "test"),
        ["heads"] = new(4L, "test"),
        ["positional"] = new(positional, "test"),
        ["tie_embeddings"] = new(tied, "test"),
    }));

    // wte 256·128 (the head) + 4 blocks of (2 LayerNorms 512, c_attn 128·384 + 384, c_proj 128·128 + 128,
    // c_fc 128·512 + 512, c_proj 512·128 + 128) + ln_f 256 = 32,768 + 4 · 198,272 + 256.
    private const long BabyNonEmbedding = 32_768 + (4 * 198_272) + 256;

    [Fact]
    public void Counts_what_nanoGPT_counts_the_parameters_without_the_position_embedding()
    {
        var model = BabyGpt(GptModel.Learned, tied: true);

        Assert.Equal(BabyNonEmbedding + (64 * 128), model.Parameters.Count);
        Assert.Equal(BabyNonEmbedding, ModelFlops.NonEmbeddingParameters(model.Parameters));
    }

    [Fact]
    public void An_untied_token_embedding_is_a_lookup_and_does_not_count()
    {
        var untied = BabyGpt(GptModel.Sinusoidal, tied: false);

        Assert.Equal(BabyNonEmbedding + (256 * 128), untied.Parameters.Count);
        Assert.Equal(BabyNonEmbedding, ModelFlops.NonEmbeddingParameters(untied.Parameters));
    }

    [Fact]
    public void A_token_costs_six_flops_a_parameter_and_twelve_L_T_C_for_attention()
    {
        Assert.Equal((6.0 * BabyNonEmbedding) + (12.0 * 4 * 64 * 128), ModelFlops.TrainingFlopsPerToken(BabyNonEmbedding, layers: 4, length: 64, channels: 128));
    }

    [Fact]
    public void Utilization_is_model_flops_per_second_over_the_peak()
    {
        // 1,000 tokens/s of 1 GFLOP each against a 2,000 GFLOP/s peak
        Assert.Equal(0.5, ModelFlops.Utilization(1e9, tokensPerSecond: 1_000, peakGigaflopsPerSecond: 2_000), 12);
    }
}
