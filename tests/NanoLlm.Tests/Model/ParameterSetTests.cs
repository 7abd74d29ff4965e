using NanoLlm.Model;

namespace NanoLlm.Tests.Model;

public sealed class ParameterSetTests
{
    [Fact]
    public void Views_are_consecutive_slices_of_one_buffer_in_declaration_order()
    {
        var set = new ParameterSet([new("a", [2, 3], true), new("b", [4], false)]);

        Assert.Equal(10, set.Count);
        Assert.Equal(0, set["a"].Offset);
        Assert.Equal(6, set["b"].Offset);
        set["b"].Values[0] = 5f;
        Assert.Equal(5f, set.Values[6]);
    }

    [Fact]
    public void ZeroGrads_clears_every_gradient()
    {
        var set = new ParameterSet([new("a", [3], true)]);
        set["a"].Grads.Fill(1f);

        set.ZeroGrads();

        Assert.All(set.Grads, g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Duplicate_names_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new ParameterSet([new("a", [1], true), new("a", [2], true)]));
    }
}
