using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Tests.Model;

public sealed class ModelRegistryTests
{
    private static SettingsSection Section(params (string Key, object Value)[] values) =>
        new("model", "run.toml:1", values.ToDictionary(v => v.Key, v => new SettingValue(v.Value, "run.toml:2")));

    [Fact]
    public void Creates_the_model_the_name_picks()
    {
        var model = ModelRegistry.Create("bigram", 300, Section(("name", "bigram")));

        Assert.IsType<BigramModel>(model);
        Assert.Equal(300, model.Spec.VocabSize);
        Assert.Equal(300 * 300, model.Parameters.Count);
    }

    [Fact]
    public void An_unknown_name_lists_the_known_models()
    {
        var message = Assert.Throws<ConfigException>(() => ModelRegistry.Create("trigram", 256, Section(("name", "trigram")))).Message;

        Assert.Equal("run.toml:2: unknown model \"trigram\": the models are bigram, mlp, gpt", message);
    }

    [Fact]
    public void A_key_the_model_does_not_take_is_an_error()
    {
        var message = Assert.Throws<ConfigException>(() => ModelRegistry.Create("bigram", 256, Section(("name", "bigram"), ("hidden_size", 8L)))).Message;

        Assert.Contains("unknown key [model] hidden_size", message);
    }

    [Fact]
    public void A_model_larger_than_one_buffer_is_a_config_error_before_anything_is_allocated()
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var message = Assert.Throws<ConfigException>(() => ModelRegistry.Create("bigram", 65_536, Section(("name", "bigram")))).Message;

        Assert.Equal($"run.toml:1: [model] describes a model of 4294967296 parameters, more than {Array.MaxLength}: one buffer holds no more: make the model smaller", message);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 1 << 20);
    }

    [Fact]
    public void A_model_larger_than_its_file_is_refused_before_anything_is_allocated()
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var message = Assert.Throws<ConfigException>(
            () => ModelRegistry.Create("gpt", 256, Section(("name", "gpt"), ("layers", 200L), ("embedding_size", 4096L)), maxParameters: 1000)).Message;

        Assert.StartsWith("run.toml:1: [model] describes a model of ", message);
        Assert.EndsWith(" parameters, more than 1000: the file's tensors are far smaller", message);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 1 << 20);
    }

    [Fact]
    public void The_ceiling_of_a_file_ends_with_its_model()
    {
        ModelRegistry.Create("bigram", 256, Section(("name", "bigram")), maxParameters: 256 * 256);

        Assert.Equal(300 * 300, ModelRegistry.Create("bigram", 300, Section(("name", "bigram"))).Parameters.Count);
    }
}
