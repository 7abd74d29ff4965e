using NanoLlm.Config;
using NanoLlm.Interop;
using NanoLlm.Model;

namespace NanoLlm.Tests.Interop;

public sealed class Gpt2ShapeTests
{
    internal static GptModel RandomModel(Gpt2Shape shape, int seed = 9)
    {
        var model = shape.CreateModel("test");
        model.Initialize(new Random(seed));
        Initialization.Normal(model.Parameters.Values, 0.3, new Random(seed + 1));
        return model;
    }

    [Fact]
    public void A_shape_builds_the_gpt_it_describes_and_reads_back_from_it()
    {
        var shape = new Gpt2Shape(Layers: 3, Heads: 4, Channels: 16, ContextLength: 20, VocabSize: 50, FeedForwardSize: 64);

        var model = shape.CreateModel("test");

        Assert.Equal(shape, Gpt2Shape.Of(model, "test"));
        Assert.Equal(3 * 12 + 4, model.Parameters.Parameters.Count);
        Assert.Equal([20, 16], model.Parameters["wpe"].Shape);
    }

    [Fact]
    public void A_model_with_sinusoidal_positions_has_no_gpt2_form()
    {
        var settings = SettingsSection.FromJson("model", "test", """{"context_length":8,"embedding_size":8,"layers":1,"heads":2}""");
        var model = ModelRegistry.Create(GptModel.Name, 30, settings);

        var error = Assert.Throws<ConfigException>(() => Gpt2Shape.Of(model, "run.toml"));

        Assert.Contains("positional = \"learned\"", error.Message, StringComparison.Ordinal);
    }
}
