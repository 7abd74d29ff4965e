using System.Collections.Concurrent;
using Terminal.Gui.App;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace NanoLlm.Chat.Tui;

/// <summary>
/// The chat screen: the transcript above; below it the prompt line, the sampling settings in use, and a status line.
/// Enter sends the prompt and streams the completion in from a background task, or carries out a slash command between
/// completions; Esc stops a running completion, or quits when there is none.
/// </summary>
public sealed class ChatWindow : Window
{
    private const string Prompt = "> ";

    /// <summary>How long closing the window waits for a stopped completion to hand back its thread.</summary>
    private static readonly TimeSpan GenerationShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly IChatModel _model;
    private readonly string _description;
    private readonly ChatSession _session = new();
    private readonly TranscriptView _transcript;
    private readonly TextField _input;
    private readonly Label _settingsLine;
    private readonly Label _statusLine;

    // Pieces cross from the generating thread to the UI thread through this queue; _flushScheduled keeps at most one
    // flush waiting on the UI thread, so a fast model does not flood the main loop with one invocation per token.
    private readonly ConcurrentQueue<string> _pendingPieces = new();
    private int _flushScheduled;
    private Task _generation = Task.CompletedTask;
    private bool _showProbabilities;

    /// <param name="description">What the status line says about the model, e.g. its name and weights file.</param>
    public ChatWindow(string title, string description, IChatModel model)
    {
        _model = model;
        _description = description;
        Title = title;

        _transcript = new TranscriptView { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill(3) };
        var promptLabel = new Label { Text = Prompt, X = 0, Y = Pos.AnchorEnd(3) };
        _input = new TextField { X = Pos.Right(promptLabel), Y = Pos.AnchorEnd(3), Width = Dim.Fill() };
        _settingsLine = new Label { X = 0, Y = Pos.AnchorEnd(2), Width = Dim.Fill() };
        _statusLine = new Label { X = 0, Y = Pos.AnchorEnd(1), Width = Dim.Fill() };
        _input.Accepting += (_, args) =>
        {
            args.Handled = true;
            Send();
        };
        Add(_transcript, promptLabel, _input, _settingsLine, _statusLine);
        ShowStatus();
    }

    /// <summary>The chat's transcript and state, as the plain model holds them (for tests and diagnostics).</summary>
    public ChatSession Session => _session;

    protected override bool OnKeyDown(Key key)
    {
        // The prompt line keeps the focus, so the keys that scroll the transcript reach it from here.
        if (key == Key.PageUp || key == Key.PageDown)
        {
            return _transcript.InvokeCommand(key == Key.PageUp ? Command.PageUp : Command.PageDown) is true;
        }
        if (key != Key.Esc)
        {
            return base.OnKeyDown(key);
        }
        if (_session.IsBusy)
        {
            if (_session.RequestStop())
            {
                ShowStatus();
            }
        }
        else
        {
            App?.RequestStop();
        }
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // The generating thread marshals onto the application, which is shut down right after this window:
            // stop it and let it finish first.
            _session.RequestStop();
            _generation.Wait(GenerationShutdownTimeout);
            _session.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Send()
    {
        var prompt = _input.Text;
        if (SlashCommand.IsCommand(prompt))
        {
            RunCommand(prompt.Trim());
            return;
        }
        if (App is not { } app || !_session.TryStartTurn(prompt, out var cancellation))
        {
            return;
        }
        _input.Text = string.Empty;
        ShowTranscript();
        _transcript.ScrollToEnd();
        ShowStatus();
        var showProbabilities = _showProbabilities;
        _generation = Task.Run(() => Generate(app, prompt, showProbabilities, cancellation), CancellationToken.None);
    }

    /// <summary>Carries out a slash command between completions; while one runs, the command waits in the prompt line.</summary>
    private void RunCommand(string line)
    {
        if (_session.IsBusy)
        {
            return;
        }
        var command = SlashCommand.Parse(line, _model.Settings);
        if (command.Action == SlashCommandAction.ChangeSettings)
        {
            _model.Settings = command.Settings;
        }
        else if (command.Action == SlashCommandAction.Reset)
        {
            _model.Reset();
        }
        var answer = command.Message;
        if (command.Action == SlashCommandAction.ToggleProbabilities)
        {
            _showProbabilities = !_showProbabilities;
            answer = _showProbabilities
                ? $"each reply now ends with its last token's {SlashCommand.ProbabilityCandidates} most likely candidates"
                : "probabilities off";
        }
        _session.TryAnswerCommand(line, answer);
        _input.Text = string.Empty;
        ShowTranscript();
        _transcript.ScrollToEnd();
        ShowStatus();
    }

    /// <summary>Runs on a background thread: the generator may spend tens of milliseconds of CPU on each piece.</summary>
    private void Generate(IApplication app, string prompt, bool showProbabilities, CancellationToken cancellation)
    {
        string? failure = null;
        string? note = null;
        try
        {
            foreach (var piece in _model.Reply(prompt, cancellation))
            {
                // A generator notices the token only when it next looks; drop what it made after Esc.
                if (cancellation.IsCancellationRequested)
                {
                    break;
                }
                _pendingPieces.Enqueue(piece);
                if (Interlocked.Exchange(ref _flushScheduled, 1) == 0)
                {
                    app.Invoke(FlushPendingPieces);
                }
            }
            // Read here, on the thread that ran the model, before the next turn can start; not after Esc, whose last
            // token may have been dropped from the transcript.
            if (showProbabilities && !cancellation.IsCancellationRequested && _model.LastDraw(SlashCommand.ProbabilityCandidates) is { } draw)
            {
                note = SlashCommand.DescribeDraw(draw);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e.Message;
        }
        app.Invoke(() => EndTurn(failure, note));
    }

    private void FlushPendingPieces()
    {
        // Cleared before draining, so a piece queued after the drain schedules a flush of its own.
        Volatile.Write(ref _flushScheduled, 0);
        var appended = false;
        while (_pendingPieces.TryDequeue(out var piece))
        {
            _session.AppendPiece(piece);
            appended = true;
        }
        if (appended)
        {
            ShowTranscript();
        }
    }

    private void EndTurn(string? failure, string? note)
    {
        FlushPendingPieces();
        if (failure is null)
        {
            _session.FinishTurn(note);
        }
        else
        {
            _session.FailTurn(failure);
        }
        ShowTranscript();
        ShowStatus();
    }

    private void ShowTranscript() => _transcript.Transcript = _session.Transcript;

    private void ShowStatus()
    {
        var hint = _session.State switch
        {
            ChatState.Generating => "generating… · Esc stops",
            ChatState.Stopping => "stopping…",
            _ => "Enter sends · /help · Esc quits",
        };
        _settingsLine.Text = SlashCommand.Describe(_model.Settings) + (_showProbabilities ? " · probs on" : "");
        _statusLine.Text = $"{_description} │ {hint}";
    }
}
