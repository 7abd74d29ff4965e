using NanoLlm.DocsTests.Support;
using NanoLlm.Model;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/04-attention.md.</summary>
public sealed class AttentionExercises : IDisposable
{
    private readonly ShippedRun _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void The_number_of_heads_does_not_change_the_parameter_count()
    {
        var four = ParameterCount();

        Assert.Equal(four, ParameterCount("model.heads=1"));
        Assert.Equal(four, ParameterCount("model.heads=16"));
    }

    [Fact]
    public void The_shipped_gpt_has_132864_parameters()
    {
        // wte 256×64, two blocks of 12C² + 13C, ln_f 2C, lm_head 256×64.
        Assert.Equal((256 * 64) + (2 * ((12 * 64 * 64) + (13 * 64))) + (2 * 64) + (256 * 64), ParameterCount());
        Assert.Equal(132_864, ParameterCount());
    }

    [Fact]
    public void Learned_positions_add_one_vector_per_position()
    {
        Assert.Equal(32 * 64, ParameterCount("model.positional=learned") - ParameterCount());
    }

    private int ParameterCount(params string[] overrides)
    {
        var config = _run.Load("configs/gpt.toml", overrides);
        return ModelRegistry.Create(config.Model.Name, config.Model.VocabSize, config.Model.Hyperparameters).Parameters.Count;
    }
}
