using NanoLlm.Chat.Tui;
using NanoLlm.Config;
using NanoLlm.Inspection;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.Testing;

namespace NanoLlm.IntegrationTests.Tui;

/// <summary>
/// Runs the real <see cref="ChatWindow"/> in a real Terminal.Gui main loop on the ANSI driver with no terminal
/// attached, typing keys through Terminal.Gui's input injector and reading the screen the driver drew.
/// </summary>
public sealed class ChatWindowTests
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(20);

    static ChatWindowTests()
    {
        // Terminal.Gui's switch for test harnesses: never touch the real console or /dev/tty, even when the test run
        // has one, and draw into the driver's buffer only.
        Environment.SetEnvironmentVariable("DisableRealDriverIO", "1");
    }

    /// <summary>One step of a script; runs on the UI thread at each main-loop iteration until it returns true.</summary>
    private delegate bool Step(ChatWindow window, IApplication app);

    [Fact]
    public void Enter_echoes_the_prompt_and_streams_the_completion_into_the_transcript()
    {
        var screens = new List<string>();

        var transcript = Run(
            (_, _) => ["wor", "ld", "!"],
            Type("hello"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Idle),
            CaptureScreen(screens),
            Press(Key.Esc));

        Assert.Equal("you: hello\nmodel: world!\n", transcript);
        Assert.Contains("you: hello", screens[0]);
        Assert.Contains("model: world!", screens[0]);
        Assert.Contains("Enter sends · /help · Esc quits", screens[0]);
    }

    [Fact]
    public void Every_piece_of_a_fast_completion_arrives_in_order()
    {
        var pieces = Enumerable.Range(0, 2000).Select(i => $"{i % 10}").ToArray();

        var transcript = Run(
            (_, _) => pieces,
            Type("count"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Idle),
            Press(Key.Esc));

        Assert.Equal($"you: count\nmodel: {string.Concat(pieces)}\n", transcript);
    }

    [Fact]
    public void A_long_completion_keeps_its_end_in_view_and_Page_Up_scrolls_back()
    {
        var screens = new List<string>();
        var lines = Enumerable.Range(0, 60).Select(i => $"line {i:00}\n").ToArray();

        Run(
            (_, _) => lines,
            Type("count"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Idle),
            CaptureScreen(screens),
            Press(Key.PageUp),
            CaptureScreen(screens),
            Press(Key.Esc));

        Assert.Contains("line 59", screens[0]);
        Assert.DoesNotContain("line 00", screens[0]);
        Assert.Contains("line 30", screens[1]);
        Assert.DoesNotContain("line 59", screens[1]);
    }

    [Fact]
    public void Esc_while_streaming_cancels_the_generation_and_the_chat_goes_on()
    {
        var screens = new List<string>();
        var generationSawCancellation = false;

        IEnumerable<string> Generate(string prompt, CancellationToken cancellation)
        {
            yield return "thinking";
            generationSawCancellation = cancellation.WaitHandle.WaitOne(ScriptTimeout);
        }

        var transcript = Run(
            Generate,
            Type("hi"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.EndsWith("thinking", StringComparison.Ordinal)),
            CaptureScreen(screens),
            Press(Key.Esc),
            Until(window => window.Session.State == ChatState.Idle),
            CaptureScreen(screens),
            Press(Key.Esc));

        Assert.True(generationSawCancellation);
        Assert.Equal("you: hi\nmodel: thinking [stopped]\n", transcript);
        Assert.Contains("generating… · Esc stops", screens[0]);
        Assert.Contains("model: thinking [stopped]", screens[1]);
        Assert.Contains("Enter sends · /help · Esc quits", screens[1]);
    }

    [Fact]
    public void Enter_while_streaming_starts_no_second_completion_and_keeps_the_typed_prompt()
    {
        var screens = new List<string>();
        var generations = 0;

        IEnumerable<string> Generate(string prompt, CancellationToken cancellation)
        {
            Interlocked.Increment(ref generations);
            cancellation.WaitHandle.WaitOne(ScriptTimeout);
            yield break;
        }

        var transcript = Run(
            Generate,
            Type("one"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Generating),
            Type("two"),
            Press(Key.Enter),
            CaptureScreen(screens),
            Press(Key.Esc),
            Until(window => window.Session.State == ChatState.Idle),
            Press(Key.Esc));

        Assert.Equal(1, generations);
        Assert.Equal("you: one\nmodel:  [stopped]\n", transcript);
        Assert.Contains("> two", screens[0]);
    }

    [Fact]
    public void A_failing_generation_shows_the_error_and_the_chat_goes_on()
    {
        static IEnumerable<string> Generate(string prompt, CancellationToken cancellation)
        {
            yield return "half";
            throw new InvalidOperationException("the model broke");
        }

        var transcript = Run(
            Generate,
            Type("hi"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Idle),
            Type("again"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Idle),
            Press(Key.Esc));

        Assert.Equal("you: hi\nmodel: half [error: the model broke]\n\nyou: again\nmodel: half [error: the model broke]\n", transcript);
    }

    [Fact]
    public void Closing_the_chat_mid_completion_stops_the_generation_before_the_application_goes()
    {
        var generationSawCancellation = false;

        IEnumerable<string> Generate(string prompt, CancellationToken cancellation)
        {
            yield return "thinking";
            generationSawCancellation = cancellation.WaitHandle.WaitOne(ScriptTimeout);
        }

        Run(
            Generate,
            Type("hi"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.EndsWith("thinking", StringComparison.Ordinal)),
            (_, app) =>
            {
                app.RequestStop();
                return true;
            });

        Assert.True(generationSawCancellation);
    }

    [Fact]
    public void A_slash_command_changes_the_settings_shown_below_the_prompt_and_the_next_turn_uses_them()
    {
        var screens = new List<string>();
        SamplingSettings? settingsOfTheTurn = null;
        ScriptedChatModel model = null!;
        model = new ScriptedChatModel(
            (_, _) =>
            {
                settingsOfTheTurn = model.Settings;
                return ["ok"];
            },
            new SamplingSettings(Temperature: 0.8));

        var transcript = Run(
            model,
            CaptureScreen(screens),
            Type("/temp 0.5"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.Contains("chat: ", StringComparison.Ordinal)),
            CaptureScreen(screens),
            Type("hi"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.EndsWith("ok\n", StringComparison.Ordinal)),
            Press(Key.Esc));

        Assert.Equal("you: /temp 0.5\nchat: temp 0.8 → 0.5\n\nyou: hi\nmodel: ok\n", transcript);
        Assert.Equal(0.5, settingsOfTheTurn?.Temperature);
        Assert.Contains("temp 0.8 · topk off", screens[0]);
        Assert.Contains("temp 0.5 · topk off", screens[1]);
        Assert.Contains("chat: temp 0.8 → 0.5", screens[1]);
    }

    [Fact]
    public void A_bad_command_explains_itself_in_one_line_and_the_chat_goes_on()
    {
        var model = new ScriptedChatModel((_, _) => ["ok"]);

        var transcript = Run(
            model,
            Type("/temp hot"),
            Press(Key.Enter),
            Type("/warp 9"),
            Press(Key.Enter),
            Type("hi"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.EndsWith("ok\n", StringComparison.Ordinal)),
            Press(Key.Esc));

        Assert.Equal(
            "you: /temp hot\nchat: /temp hot: not a number; use e.g. /temp 0.8\n\n"
            + "you: /warp 9\nchat: unknown command /warp: /help lists the commands\n\n"
            + "you: hi\nmodel: ok\n",
            transcript);
        Assert.Equal(new SamplingSettings(), model.Settings);
    }

    [Fact]
    public void Reset_starts_the_conversation_over_with_the_run_file_settings()
    {
        var screens = new List<string>();
        var model = new ScriptedChatModel((_, _) => ["ok"], new SamplingSettings(Temperature: 0.8));

        var transcript = Run(
            model,
            Type("/temp 0.3"),
            Press(Key.Enter),
            Type("/reset"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.Contains("forgot", StringComparison.Ordinal)),
            CaptureScreen(screens),
            Press(Key.Esc));

        Assert.Equal(1, model.Resets);
        Assert.EndsWith("you: /reset\nchat: forgot the conversation; the run file's settings are back\n", transcript);
        Assert.Contains("temp 0.8 · topk off", screens[0]);
    }

    [Fact]
    public void Help_lists_the_commands_in_the_transcript()
    {
        var transcript = Run(
            (_, _) => [],
            Type("/help"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.Contains("chat: ", StringComparison.Ordinal)),
            Press(Key.Esc));

        Assert.Equal($"you: /help\nchat: {SlashCommand.HelpText}\n", transcript);
    }

    [Fact]
    public void A_command_typed_while_streaming_waits_in_the_prompt_line()
    {
        var screens = new List<string>();
        var model = new ScriptedChatModel(Generate);

        IEnumerable<string> Generate(string prompt, CancellationToken cancellation)
        {
            cancellation.WaitHandle.WaitOne(ScriptTimeout);
            yield break;
        }

        Run(
            model,
            Type("one"),
            Press(Key.Enter),
            Until(window => window.Session.State == ChatState.Generating),
            Type("/topk 5"),
            Press(Key.Enter),
            CaptureScreen(screens),
            Press(Key.Esc),
            Until(window => window.Session.State == ChatState.Idle),
            Press(Key.Esc));

        Assert.Equal(0, model.Settings.TopK);
        Assert.Contains("> /topk 5", screens[0]);
    }

    [Fact]
    public void Probs_shows_the_last_tokens_candidates_under_each_reply_until_turned_off()
    {
        var screens = new List<string>();
        var model = new ScriptedChatModel((_, _) => ["ok"])
        {
            Draw = new TokenDraw(new TokenCandidate('k', "k", 0.5), [.. "kxyzwv".Select((c, i) => new TokenCandidate(c, $"{c}", 0.5 / (i + 1)))]),
        };

        var transcript = Run(
            model,
            Type("/probs"),
            Press(Key.Enter),
            Type("hi"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.EndsWith("0.100\n", StringComparison.Ordinal)),
            CaptureScreen(screens),
            Type("/probs"),
            Press(Key.Enter),
            Type("bye"),
            Press(Key.Enter),
            Until(window => window.Session.Transcript.EndsWith("ok\n", StringComparison.Ordinal)),
            CaptureScreen(screens),
            Press(Key.Esc));

        const string line = "last token k (0.500) among k 0.500 · x 0.250 · y 0.167 · z 0.125 · w 0.100";
        Assert.Equal(
            "you: /probs\nchat: each reply now ends with its last token's 5 most likely candidates\n\n"
            + $"you: hi\nmodel: ok\n{line}\n\n"
            + "you: /probs\nchat: probabilities off\n\n"
            + "you: bye\nmodel: ok\n",
            transcript);
        Assert.Contains(line, screens[0]);
        Assert.Contains("seed 1337 · probs on", screens[0]);
        Assert.DoesNotContain("probs on", screens[1]);
    }

    private static Step Type(string text) => (_, app) =>
    {
        foreach (var character in text)
        {
            app.InjectKey(new Key(character));
        }
        return true;
    };

    private static Step Press(Key key) => (_, app) =>
    {
        app.InjectKey(key);
        return true;
    };

    private static Step Until(Func<ChatWindow, bool> condition) => (window, _) => condition(window);

    private static Step CaptureScreen(List<string> screens) => (_, app) =>
    {
        screens.Add(app.Driver!.ToString()!);
        return true;
    };

    private static string Run(Func<string, CancellationToken, IEnumerable<string>> reply, params Step[] script) =>
        Run(new ScriptedChatModel(reply), script);

    /// <summary>Runs the chat until the script's last step has quit it; returns the final transcript.</summary>
    private static string Run(IChatModel model, params Step[] script)
    {
        using var app = Application.Create().Init(DriverRegistry.Names.ANSI);
        using var window = new ChatWindow("test chat", "test model", model);
        var pending = new Queue<Step>(script);
        var timedOut = false;
        app.Iteration += (_, _) =>
        {
            if (pending.Count > 0 && pending.Peek()(window, app))
            {
                pending.Dequeue();
            }
        };
        app.AddTimeout(ScriptTimeout, () =>
        {
            timedOut = true;
            app.RequestStop();
            return false;
        });

        app.Run(window);

        Assert.False(timedOut, $"the script did not finish within {ScriptTimeout}: {pending.Count} steps left");
        Assert.Empty(pending);
        return window.Session.Transcript;
    }
}
