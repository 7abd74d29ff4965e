using NanoLlm.Interop;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Interop;

public sealed class HuggingFaceGpt2Tests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly Gpt2Reference _reference = new();

    public void Dispose() => _folder.Dispose();

    internal static double MaxLogitDifference(GptModel model, Gpt2Reference reference, int[] tokens)
    {
        model.Forward(tokens, new int[tokens.Length], 1, tokens.Length);
        var expected = reference.Logits(tokens);
        var actual = model.Logits.ToArray();
        return Enumerable.Range(0, expected.Length).Max(i => Math.Abs(expected[i] - actual[i]));
    }

    internal static readonly int[] FixedBatch = [3, 299, 17, 42, 0, 256, 7, 7, 128, 64, 1, 250];

    [Theory]
    [InlineData("transformer.")]
    [InlineData("")]
    public void Import_gives_the_logits_of_the_documented_layout(string prefix)
    {
        var directory = _folder.File("hf");
        _reference.WriteHuggingFace(directory, prefix);

        var model = HuggingFaceGpt2.ReadModel(directory);

        Assert.Equal(_reference.Positions, model.Spec.ContextLength);
        Assert.Equal(_reference.VocabSize, model.Spec.VocabSize);
        Assert.InRange(MaxLogitDifference(model, _reference, FixedBatch), 0, 1e-4);
    }

    [Fact]
    public void Export_then_import_is_bit_identical_and_uses_the_transformers_names_and_layout()
    {
        _reference.WriteHuggingFace(_folder.File("hf"));
        var model = HuggingFaceGpt2.ReadModel(_folder.File("hf"));

        HuggingFaceGpt2.WriteModel(_folder.File("out"), model, Gpt2Shape.Of(model, "test"), endOfText: 299);
        var again = HuggingFaceGpt2.ReadModel(_folder.File("out"));

        Assert.Equal(model.Parameters.Values, again.Parameters.Values);
        var file = SafeTensors.Read(_folder.File("out/model.safetensors"));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([8, 24], file.Shape("transformer.h.1.attn.c_attn.weight"));
        Assert.Equal([32, 8], file.Shape("transformer.h.0.mlp.c_proj.weight"));
        Assert.Equal(_reference["h.1.attn.c_attn.weight"], file.ToArray("transformer.h.1.attn.c_attn.weight"));
        Assert.DoesNotContain("lm_head.weight", file.Names);
        var config = File.ReadAllText(_folder.File("out/config.json"));
        Assert.Contains("\"GPT2LMHeadModel\"", config, StringComparison.Ordinal);
        Assert.Contains("\"eos_token_id\": 299", config, StringComparison.Ordinal);
        Assert.Contains("\"eos_token_id\": 299", File.ReadAllText(_folder.File("out/generation_config.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void An_untied_head_round_trips_as_lm_head()
    {
        var model = Gpt2ShapeTests.RandomModel(new Gpt2Shape(1, 2, 8, 6, 40, 32, TiedHead: false));

        HuggingFaceGpt2.WriteModel(_folder.File("out"), model, Gpt2Shape.Of(model, "test"), endOfText: null);
        var again = HuggingFaceGpt2.ReadModel(_folder.File("out"));

        Assert.False(Gpt2Shape.Of(again, "test").TiedHead);
        Assert.Equal(model.Parameters.Values, again.Parameters.Values);
        Assert.Contains("lm_head.weight", SafeTensors.Read(_folder.File("out/model.safetensors")).Names);
    }

    [Fact]
    public void A_pickle_is_refused_without_being_read()
    {
        Directory.CreateDirectory(_folder.File("pickled"));
        File.WriteAllText(_folder.File("pickled/config.json"), _reference.Config());
        File.WriteAllBytes(_folder.File("pickled/pytorch_model.bin"), [0x80, 0x02, 0x63]);

        var error = Assert.Throws<WeightsFileException>(() => HuggingFaceGpt2.ReadModel(_folder.File("pickled")));

        Assert.Contains("pytorch_model.bin", error.Message, StringComparison.Ordinal);
        Assert.Contains("convert it to model.safetensors", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relu", "1e-05", "activation_function")]
    [InlineData("gelu_new", "1e-06", "layer_norm_epsilon")]
    public void A_config_NanoLlm_cannot_compute_is_refused_naming_the_key(string activation, string epsilon, string key)
    {
        _reference.WriteHuggingFace(_folder.File("hf"), configOverride: _reference.Config(activation, epsilon));

        var error = Assert.Throws<WeightsFileException>(() => HuggingFaceGpt2.ReadModel(_folder.File("hf")));

        Assert.Contains($"config.json: {key}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        _reference.Tensors.RemoveAll(t => t.Name == "h.1.mlp.c_fc.bias");
        _reference.WriteHuggingFace(_folder.File("hf"));

        var error = Assert.Throws<WeightsFileException>(() => HuggingFaceGpt2.ReadModel(_folder.File("hf")));

        Assert.EndsWith("tensor transformer.h.1.mlp.c_fc.bias is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_whose_shape_disagrees_with_the_config_is_named()
    {
        var config = _reference.Config().Replace("\"n_positions\": 12", "\"n_positions\": 10", StringComparison.Ordinal);
        _reference.WriteHuggingFace(_folder.File("hf"), configOverride: config);

        var error = Assert.Throws<WeightsFileException>(() => HuggingFaceGpt2.ReadModel(_folder.File("hf")));

        Assert.Contains("tensor transformer.wpe.weight has shape [12, 8], config.json says [10, 8]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_beyond_the_config_is_named()
    {
        var config = _reference.Config().Replace("\"n_layer\": 2", "\"n_layer\": 1", StringComparison.Ordinal);
        _reference.WriteHuggingFace(_folder.File("hf"), configOverride: config, withBuffers: false);

        var error = Assert.Throws<WeightsFileException>(() => HuggingFaceGpt2.ReadModel(_folder.File("hf")));

        Assert.Contains("tensor transformer.h.1.ln_1.weight is not part of the GPT-2 config.json describes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tied_head_saved_anyway_must_equal_the_token_embedding()
    {
        _reference.Tensors.Add(("lm_head.weight", [_reference.VocabSize, _reference.Channels], _reference["wte.weight"]));
        _reference.WriteHuggingFace(_folder.File("same"));
        var wte = _reference["wte.weight"];
        _reference.Tensors[^1] = ("lm_head.weight", [_reference.VocabSize, _reference.Channels], [.. wte.Select(v => v + 1)]);
        _reference.WriteHuggingFace(_folder.File("different"));

        var model = HuggingFaceGpt2.ReadModel(_folder.File("same"));
        var error = Assert.Throws<WeightsFileException>(() => HuggingFaceGpt2.ReadModel(_folder.File("different")));

        Assert.Equal(wte, model.Parameters["wte"].Values.ToArray());
        Assert.Contains("lm_head.weight differs from", error.Message, StringComparison.Ordinal);
    }
}
