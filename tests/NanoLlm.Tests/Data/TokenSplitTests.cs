using NanoLlm.Data;

namespace NanoLlm.Tests.Data;

public sealed class TokenSplitTests
{
    private static readonly int[] OneBytePerToken = Enumerable.Repeat(1, 256).ToArray();

    private static MemoryTokens Tokens(int first, int count) => new(Enumerable.Range(first, count).Select(i => (ushort)i).ToArray());

    private static int[] Window(TokenSplit split, long start, int length)
    {
        var (inputs, targets) = (new int[length], new int[length]);
        split.Window(start, inputs, targets);
        Assert.Equal(inputs.AsSpan(1).ToArray(), targets.AsSpan(0, length - 1).ToArray());
        return [.. inputs, targets[^1]];
    }

    [Fact]
    public void With_one_segment_windows_start_where_the_token_array_does()
    {
        var split = new TokenSplit([TokenSegment.Whole(Tokens(0, 20))], OneBytePerToken);

        Assert.Equal(20 - 4, split.WindowStarts(4));
        Assert.Equal([7, 8, 9, 10, 11], Window(split, 7, 4));
        Assert.Equal((20 - 1) / 4, split.ConsecutiveWindows(4));
    }

    [Fact]
    public void Windows_stay_inside_one_segment()
    {
        var split = new TokenSplit([TokenSegment.Whole(Tokens(0, 10)), TokenSegment.Whole(Tokens(100, 3)), TokenSegment.Whole(Tokens(200, 8))], OneBytePerToken);

        // 10 − 4 starts in the first segment, none in the 3-token one, 8 − 4 in the last.
        Assert.Equal(6 + 0 + 4, split.WindowStarts(4));
        Assert.Equal([5, 6, 7, 8, 9], Window(split, 5, 4));
        Assert.Equal([200, 201, 202, 203, 204], Window(split, 6, 4));
        Assert.Equal([203, 204, 205, 206, 207], Window(split, 9, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Window(split, 10, 4));
    }

    [Fact]
    public void Consecutive_windows_restart_at_each_segment()
    {
        var split = new TokenSplit([TokenSegment.Whole(Tokens(0, 10)), TokenSegment.Whole(Tokens(100, 9))], OneBytePerToken);
        var (inputs, targets) = (new int[4], new int[4]);

        Assert.Equal(2 + 2, split.ConsecutiveWindows(4));
        split.ConsecutiveWindow(2, inputs, targets);

        Assert.Equal([100, 101, 102, 103], inputs);
        Assert.Equal([101, 102, 103, 104], targets);
    }

    [Fact]
    public void Splitting_off_a_fraction_cuts_the_last_tokens_across_segments()
    {
        var split = new TokenSplit([TokenSegment.Whole(Tokens(0, 10)), TokenSegment.Whole(Tokens(100, 10))], OneBytePerToken);

        var (train, validation) = split.SplitOff(0.25);

        Assert.Equal(15, train.Length);
        Assert.Equal(5, validation.Length);
        Assert.Equal([new TokenSegment(split.Segments[1].Source, 5, 5)], validation.Segments);
        Assert.Equal(5, train.Segments[1].Length);
    }
}
