using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Inspection;

namespace NanoLlm.Chat.Tui;

/// <summary>What a line starting with <c>/</c> asks the chat to do.</summary>
public enum SlashCommandAction
{
    ChangeSettings,
    Reset,
    ToggleProbabilities,
    Help,
    Invalid,
}

/// <summary>
/// A chat command, parsed with no terminal in sight: <c>/temp</c>, <c>/topk</c>, <c>/topp</c>, <c>/penalty</c>,
/// <c>/max</c> and <c>/seed</c> change one sampling setting within the range the run file allows, <c>/reset</c>
/// starts the conversation over, <c>/probs</c> turns the line of the last token's candidates under each reply on or
/// off, <c>/help</c> lists the commands. Anything else is <see cref="SlashCommandAction.Invalid"/>
/// with the reason, never an exception.
/// </summary>
/// <param name="Settings">The settings after the command: changed for <see cref="SlashCommandAction.ChangeSettings"/>, as they were otherwise.</param>
/// <param name="Message">What the transcript answers: the change, the command list, or why the command was refused.</param>
public sealed record SlashCommand(SlashCommandAction Action, SamplingSettings Settings, string Message)
{
    private const string Separator = " · ";

    /// <summary>How many candidates <c>/probs</c> shows for the last token of a reply.</summary>
    public const int ProbabilityCandidates = 5;

    private static readonly NumberSetting[] NumberSettings =
    [
        new("/temp", "T", "0.8", "temperature: 0 is greedy, higher is more varied",
            Whole: false, Min: 0, Max: SamplingSettings.TemperatureLimit, MinExclusive: false, Off: 0, OffText: "greedy",
            s => s.Temperature, (s, v) => s with { Temperature = v }),
        new("/topk", "K", "40", "draw among the K most likely tokens; 0 is off",
            Whole: true, Min: 0, Max: SamplingSettings.TopKLimit, MinExclusive: false, Off: 0, OffText: "off",
            s => s.TopK, (s, v) => s with { TopK = (int)v }),
        new("/topp", "P", "0.9", "draw among the fewest most likely tokens whose probability reaches P; 1 is off",
            Whole: false, Min: 0, Max: 1, MinExclusive: true, Off: 1, OffText: "off",
            s => s.TopP, (s, v) => s with { TopP = v }),
        new("/penalty", "R", "1.1", "make tokens already in the context less likely; 1 is off",
            Whole: false, Min: 1, Max: SamplingSettings.RepetitionPenaltyLimit, MinExclusive: false, Off: 1, OffText: "off",
            s => s.RepetitionPenalty, (s, v) => s with { RepetitionPenalty = v }),
        new("/max", "N", "300", "tokens per reply at most",
            Whole: true, Min: 1, Max: SamplingSettings.MaxNewTokensLimit, MinExclusive: false, Off: null, OffText: "",
            s => s.MaxNewTokens, (s, v) => s with { MaxNewTokens = (int)v }),
        new("/seed", "S", "7", "restart the random stream from S",
            Whole: true, Min: 0, Max: int.MaxValue, MinExclusive: false, Off: null, OffText: "",
            s => s.Seed, (s, v) => s with { Seed = (int)v }),
    ];

    /// <summary>The command list <c>/help</c> answers with, one command a line.</summary>
    public static string HelpText { get; } = string.Join('\n', [
        "commands (the status line shows the values in use):",
        .. NumberSettings.Select(n => $"  {n.Command + " " + n.Argument,-11} {n.Meaning} ({n.RangeText})"),
        $"  {"/reset",-11} forget the conversation and go back to the run file's settings",
        $"  {"/probs",-11} show (or hide) under each reply the model's {ProbabilityCandidates} most likely candidates for its last token",
        $"  {"/help",-11} this list",
    ]);

    /// <summary>Whether <paramref name="line"/> is meant as a command rather than a prompt.</summary>
    public static bool IsCommand(string line) => line.TrimStart().StartsWith('/');

    public static SlashCommand Parse(string line, SamplingSettings current)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var name = words.FirstOrDefault()?.ToLowerInvariant() ?? "";
        if (name is "/reset" or "/help" or "/probs")
        {
            return words.Length > 1
                ? Invalid(current, $"{name} takes no value")
                : name switch
                {
                    "/reset" => new SlashCommand(SlashCommandAction.Reset, current, "forgot the conversation; the run file's settings are back"),
                    "/probs" => new SlashCommand(SlashCommandAction.ToggleProbabilities, current, ""),
                    _ => new SlashCommand(SlashCommandAction.Help, current, HelpText),
                };
        }
        var setting = Array.Find(NumberSettings, n => n.Command == name);
        if (setting is null)
        {
            return Invalid(current, $"unknown command {name}: /help lists the commands");
        }
        if (words.Length != 2)
        {
            return Invalid(current, $"{name} takes one value, e.g. {name} {setting.Example}");
        }
        return setting.TryRead(words[1], out var value, out var problem)
            ? Change(current, setting.Set(current, value), setting)
            : Invalid(current, $"{name} {words[1]}: {problem}");
    }

    /// <summary>The settings in one line, named as the commands that change them: <c>temp 0.8 · topk off · …</c>.</summary>
    public static string Describe(SamplingSettings settings) =>
        string.Join(Separator, NumberSettings.Select(n => $"{n.Label} {n.Show(settings)}"));

    /// <summary>
    /// The line <c>/probs</c> shows under a reply: the token drawn last and the model's most likely candidates there,
    /// with their probabilities before temperature, top-k and top-p: <c>last token e (0.412) among e 0.412 · o 0.203 · …</c>.
    /// </summary>
    public static string DescribeDraw(TokenDraw draw) =>
        $"last token {draw.Drawn.Text} ({Probability(draw.Drawn)}) among "
        + string.Join(Separator, draw.Top.Select(c => $"{c.Text} {Probability(c)}"));

    private static string Probability(TokenCandidate candidate) => candidate.Probability.ToString("0.000", CultureInfo.InvariantCulture);

    private static SlashCommand Change(SamplingSettings current, SamplingSettings changed, NumberSetting setting) =>
        new(SlashCommandAction.ChangeSettings, changed, $"{setting.Label} {setting.Show(current)} → {setting.Show(changed)}");

    private static SlashCommand Invalid(SamplingSettings current, string reason) => new(SlashCommandAction.Invalid, current, reason);

    /// <summary>One numeric setting: its command, its range (the run file's), and how it reads and writes the settings.</summary>
    /// <param name="Argument">The value's letter in the command list, e.g. <c>T</c> in <c>/temp T</c>.</param>
    /// <param name="Off">The value that switches the control off, shown as <paramref name="OffText"/>; null when none does.</param>
    private sealed record NumberSetting(
        string Command,
        string Argument,
        string Example,
        string Meaning,
        bool Whole,
        double Min,
        double Max,
        bool MinExclusive,
        double? Off,
        string OffText,
        Func<SamplingSettings, double> Get,
        Func<SamplingSettings, double, SamplingSettings> Set)
    {
        /// <summary>The command's name without the slash, as the status line shows it.</summary>
        public string Label => Command[1..];

        public string RangeText => MinExclusive ? $"greater than {Format(Min)} and at most {Format(Max)}" : $"from {Format(Min)} to {Format(Max)}";

        public string Show(SamplingSettings settings)
        {
            var value = Get(settings);
            return value == Off ? OffText : Format(value);
        }

        public bool TryRead(string text, out double value, out string problem)
        {
            problem = "";
            if (Whole)
            {
                var isWhole = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole);
                value = whole;
                if (!isWhole)
                {
                    problem = $"not a whole number; use e.g. {Command} {Example}";
                    return false;
                }
            }
            else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || !double.IsFinite(value))
            {
                problem = $"not a number; use e.g. {Command} {Example}";
                return false;
            }
            var aboveMin = MinExclusive ? value > Min : value >= Min;
            if (!aboveMin || value > Max)
            {
                problem = $"out of range: use {(Whole ? "a whole number" : "a number")} {RangeText}";
                return false;
            }
            return true;
        }

        private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
