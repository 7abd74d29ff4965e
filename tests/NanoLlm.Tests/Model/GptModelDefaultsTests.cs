using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Tests.Model;

/// <summary>
/// The GPT's architecture options all default to the model it was before they existed. The fingerprints below were
/// taken from that model (same hyperparameters, seed and batch, scalar kernels on one thread, so the SIMD width of
/// the machine running the test does not matter): a model whose run file or weights file names none of the options
/// must reproduce its loss, logits and gradients bit for bit.
/// </summary>
public sealed class GptModelDefaultsTests
{
    [Theory]
    [InlineData("sinusoidal", true, 0.1, 0x405E6973u, 0x92BF200AA12A3477UL)]
    [InlineData("learned", false, 0.0, 0x4025674Bu, 0x65443B08F3D172C2UL)]
    public void A_model_without_the_new_options_computes_exactly_what_it_did_before_them(
        string positional, bool tied, double dropout, uint lossBits, ulong fingerprint)
    {
        using var _ = KernelSettings.Override(0, 1);
        var hyperparameters = SettingsSection.FromJson(
            "model", "old weights file",
            $$"""{"context_length":8,"embedding_size":16,"layers":2,"heads":2,"ffn_ratio":4,"positional":"{{positional}}","tie_embeddings":{{(tied ? "true" : "false")}},"dropout":{{dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""");
        var model = new GptModel(13, hyperparameters);
        model.Initialize(new Random(5));
        model.Training = dropout > 0;
        var random = new Random(6);
        int[] inputs = [.. Enumerable.Range(0, 16).Select(_ => random.Next(13))];
        int[] targets = [.. Enumerable.Range(0, 16).Select(_ => random.Next(13))];

        var loss = model.Forward(inputs, targets, 2, 8);
        model.Backward();

        var hash = Fingerprint(14695981039346656037UL, model.Logits);
        hash = Fingerprint(hash, model.Parameters.Grads);
        Assert.Equal((lossBits, fingerprint), (BitConverter.SingleToUInt32Bits(loss), hash));
    }

    // FNV-1a over the floats' bit patterns.
    private static ulong Fingerprint(ulong hash, ReadOnlySpan<float> values)
    {
        foreach (var value in values)
        {
            hash = (hash ^ BitConverter.SingleToUInt32Bits(value)) * 1099511628211UL;
        }
        return hash;
    }
}
