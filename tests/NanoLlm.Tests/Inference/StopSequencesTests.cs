using NanoLlm.Inference;

namespace NanoLlm.Tests.Inference;

public sealed class StopSequencesTests
{
    [Fact]
    public void Text_is_released_up_to_the_stop_sequence_split_across_pieces()
    {
        var stops = new StopSequences(["\n\n", "END"]);

        var released = string.Concat(new[] { "To be", ", or not", " E", "N", "D to be" }.Select(stops.Push));

        Assert.Equal("To be, or not ", released);
        Assert.True(stops.Stopped);
        Assert.Equal(string.Empty, stops.Flush());
    }

    [Fact]
    public void Held_back_text_that_starts_no_stop_sequence_comes_out_at_the_end()
    {
        var stops = new StopSequences(["END"]);

        var released = stops.Push("the E") + stops.Push("N");

        // At most one character less than the longest stop sequence waits: "EN" could still become "END".
        Assert.Equal("the ", released);
        Assert.Equal("EN", stops.Flush());
        Assert.False(stops.Stopped);
    }

    [Fact]
    public void Without_stop_sequences_every_piece_is_released_at_once()
    {
        var stops = new StopSequences([]);

        Assert.Equal("abc", stops.Push("abc"));
    }
}
