using NanoLlm.Chat.Tui;

namespace NanoLlm.IntegrationTests.Tui;

public sealed class WrappedLinesTests
{
    private static string[] Lines(WrappedLines lines) => Enumerable.Range(0, lines.Count).Select(i => lines[i]).ToArray();

    private static string[] Wrap(string text, int width)
    {
        var lines = new WrappedLines();
        lines.Update(text, width);
        return Lines(lines);
    }

    [Fact]
    public void Empty_text_has_no_lines() => Assert.Empty(Wrap("", 10));

    [Fact]
    public void Words_wrap_at_the_width_without_being_split() =>
        Assert.Equal(["the quick", "brown fox"], Wrap("the quick brown fox", 10));

    [Fact]
    public void Each_newline_starts_a_paragraph_and_an_empty_one_keeps_its_line() =>
        Assert.Equal(["you: a", "model: b", "", "you: c"], Wrap("you: a\nmodel: b\n\nyou: c", 20));

    [Fact]
    public void A_final_newline_adds_no_line() => Assert.Equal(["abc"], Wrap("abc\n", 10));

    [Fact]
    public void A_word_longer_than_the_width_is_broken() => Assert.Equal(["abcd", "efgh", "ij"], Wrap("abcdefghij", 4));

    [Fact]
    public void Appending_gives_the_same_lines_as_wrapping_the_whole_text_at_once()
    {
        const string Text = "you: hello there\nmodel: the quick brown fox jumps over the lazy dog\n\nyou: again\nmodel: and so on and on";
        var lines = new WrappedLines();

        for (var length = 0; length <= Text.Length; length += 3)
        {
            lines.Update(Text[..length], 12);
            Assert.Equal(Wrap(Text[..length], 12), Lines(lines));
        }
    }

    [Fact]
    public void A_new_width_or_replaced_text_rewraps_everything()
    {
        var lines = new WrappedLines();
        lines.Update("one two three\nfour five", 8);

        lines.Update("one two three\nfour five", 20);
        Assert.Equal(["one two three", "four five"], Lines(lines));

        lines.Update("six\nseven", 20);
        Assert.Equal(["six", "seven"], Lines(lines));
    }
}
