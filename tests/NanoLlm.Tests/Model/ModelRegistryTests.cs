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
}
