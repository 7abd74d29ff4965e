using NanoLlm.Chat.Tui;
using NanoLlm.Config;
using NanoLlm.Inspection;

namespace NanoLlm.IntegrationTests.Tui;

public sealed class SlashCommandTests
{
    private static readonly SamplingSettings Current = new(MaxNewTokens: 200, Temperature: 0.8, TopK: 0, TopP: 1.0, RepetitionPenalty: 1.0, Seed: 1337);

    [Theory]
    [InlineData("/temp 0.5", "temp 0.8 → 0.5")]
    [InlineData("/temp 0", "temp 0.8 → greedy")]
    [InlineData("/topk 40", "topk off → 40")]
    [InlineData("/topp 0.9", "topp off → 0.9")]
    [InlineData("/penalty 1.1", "penalty off → 1.1")]
    [InlineData("/max 300", "max 200 → 300")]
    [InlineData("/seed 7", "seed 1337 → 7")]
    public void A_setting_command_changes_that_setting_and_says_what_changed(string line, string message)
    {
        var command = SlashCommand.Parse(line, Current);

        Assert.Equal(SlashCommandAction.ChangeSettings, command.Action);
        Assert.Equal(message, command.Message);
    }

    [Fact]
    public void Each_setting_command_writes_its_own_setting()
    {
        var settings = Current;
        foreach (var line in new[] { "/temp 0.5", "/topk 40", "/topp 0.9", "/penalty 1.1", "/max 300", "/seed 7" })
        {
            settings = SlashCommand.Parse(line, settings).Settings;
        }

        Assert.Equal(new SamplingSettings(MaxNewTokens: 300, Temperature: 0.5, TopK: 40, TopP: 0.9, RepetitionPenalty: 1.1, Seed: 7), settings);
    }

    [Fact]
    public void Spaces_and_capitals_do_not_matter()
    {
        var command = SlashCommand.Parse("  /TopK   12 ", Current);

        Assert.Equal(12, command.Settings.TopK);
    }

    [Theory]
    [InlineData("/temp abc", "/temp abc: not a number; use e.g. /temp 0.8")]
    [InlineData("/temp NaN", "/temp NaN: not a number; use e.g. /temp 0.8")]
    [InlineData("/temp 101", "/temp 101: out of range: use a number from 0 to 100")]
    [InlineData("/topk 2.5", "/topk 2.5: not a whole number; use e.g. /topk 40")]
    [InlineData("/topk -1", "/topk -1: out of range: use a whole number from 0 to 65536")]
    [InlineData("/topp 0", "/topp 0: out of range: use a number greater than 0 and at most 1")]
    [InlineData("/topp 1.5", "/topp 1.5: out of range: use a number greater than 0 and at most 1")]
    [InlineData("/penalty 0.9", "/penalty 0.9: out of range: use a number from 1 to 100")]
    [InlineData("/max 0", "/max 0: out of range: use a whole number from 1 to 1000000")]
    [InlineData("/seed 99999999999", "/seed 99999999999: out of range: use a whole number from 0 to 2147483647")]
    [InlineData("/temp", "/temp takes one value, e.g. /temp 0.8")]
    [InlineData("/max 3 4", "/max takes one value, e.g. /max 300")]
    [InlineData("/reset now", "/reset takes no value")]
    public void A_bad_value_is_refused_with_a_one_line_reason_and_the_settings_unchanged(string line, string reason)
    {
        var command = SlashCommand.Parse(line, Current);

        Assert.Equal(SlashCommandAction.Invalid, command.Action);
        Assert.Equal(reason, command.Message);
        Assert.Equal(Current, command.Settings);
    }

    [Theory]
    [InlineData("/temperature 0.5")]
    [InlineData("/")]
    public void An_unknown_command_points_to_help(string line)
    {
        var command = SlashCommand.Parse(line, Current);

        Assert.Equal(SlashCommandAction.Invalid, command.Action);
        Assert.Equal($"unknown command {line.Split(' ')[0]}: /help lists the commands", command.Message);
    }

    [Fact]
    public void Reset_asks_to_start_over()
    {
        Assert.Equal(SlashCommandAction.Reset, SlashCommand.Parse("/reset", Current).Action);
    }

    [Fact]
    public void Help_lists_every_command_one_a_line()
    {
        var command = SlashCommand.Parse("/help", Current);

        Assert.Equal(SlashCommandAction.Help, command.Action);
        var lines = command.Message.Split('\n');
        foreach (var name in new[] { "/temp", "/topk", "/topp", "/penalty", "/max", "/seed", "/reset", "/help" })
        {
            Assert.Single(lines, line => line.TrimStart().StartsWith(name + " ", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("/temp 0.5", true)]
    [InlineData("  /help", true)]
    [InlineData("hello /temp", false)]
    [InlineData("", false)]
    public void Only_a_line_starting_with_a_slash_is_a_command(string line, bool isCommand)
    {
        Assert.Equal(isCommand, SlashCommand.IsCommand(line));
    }

    [Fact]
    public void Describe_names_the_settings_as_the_commands_do_and_says_off()
    {
        Assert.Equal("temp 0.8 · topk off · topp off · penalty off · max 200 · seed 1337", SlashCommand.Describe(Current));
        Assert.Equal(
            "temp greedy · topk 40 · topp 0.9 · penalty 1.2 · max 5 · seed 1",
            SlashCommand.Describe(new SamplingSettings(MaxNewTokens: 5, Temperature: 0, TopK: 40, TopP: 0.9, RepetitionPenalty: 1.2, Seed: 1)));
    }

    [Fact]
    public void Probs_toggles_the_probability_line_and_takes_no_value()
    {
        Assert.Equal(SlashCommandAction.ToggleProbabilities, SlashCommand.Parse("/probs", Current).Action);
        Assert.Equal(Current, SlashCommand.Parse("/PROBS ", Current).Settings);
        Assert.Equal("/probs takes no value", SlashCommand.Parse("/probs on", Current).Message);
        Assert.Contains("/probs", SlashCommand.HelpText);
    }

    [Fact]
    public void The_probability_line_names_the_drawn_token_and_the_candidates_most_likely_first()
    {
        var draw = new TokenDraw(new TokenCandidate('o', "o", 0.2031), [new('e', "e", 0.41249), new('o', "o", 0.2031), new(' ', "␣", 0.1)]);

        Assert.Equal("last token o (0.203) among e 0.412 · o 0.203 · ␣ 0.100", SlashCommand.DescribeDraw(draw));
    }
}
