using System.Collections.Concurrent;
using Terminal.Gui.App;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace NanoLlm.Chat.Tui;

/// <summary>
/// The chat screen: the transcript above, the prompt line and the status line below. Enter sends the prompt and
/// streams the completion in from a background task; Esc stops a running completion, or quits when there is none.
/// </summary>
public sealed class ChatWindow : Window
{
    private const string Prompt = "> ";

    /// <summary>How long closing the window waits for a stopped completion to hand back its thread.</summary>
    private static readonly TimeSpan GenerationShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<string, CancellationToken, IEnumerable<string>> _generate;
    private readonly string _status;
    private readonly ChatSession _session = new();
    private readonly TranscriptView _transcript;
    private readonly TextField _input;
    private readonly Label _statusLine;

    // Pieces cross from the generating thread to the UI thread through this queue; _flushScheduled keeps at most one
    // flush waiting on the UI thread, so a fast model does not flood the main loop with one invocation per token.
    private readonly ConcurrentQueue<string> _pendingPieces = new();
    private int _flushScheduled;
    private Task _generation = Task.CompletedTask;

    public ChatWindow(string title, string status, Func<string, CancellationToken, IEnumerable<string>> generate)
    {
        _generate = generate;
        _status = status;
        Title = title;

        _transcript = new TranscriptView { X = 0, Y = 0, Width = Dim.Fill(), Height = Dim.Fill(2) };
        var promptLabel = new Label { Text = Prompt, X = 0, Y = Pos.AnchorEnd(2) };
        _input = new TextField { X = Pos.Right(promptLabel), Y = Pos.AnchorEnd(2), Width = Dim.Fill() };
        _statusLine = new Label { X = 0, Y = Pos.AnchorEnd(1), Width = Dim.Fill() };
        _input.Accepting += (_, args) =>
        {
            args.Handled = true;
            Send();
        };
        Add(_transcript, promptLabel, _input, _statusLine);
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
        if (App is not { } app || !_session.TryStartTurn(prompt, out var cancellation))
        {
            return;
        }
        _input.Text = string.Empty;
        ShowTranscript();
        _transcript.ScrollToEnd();
        ShowStatus();
        _generation = Task.Run(() => Generate(app, prompt, cancellation), CancellationToken.None);
    }

    /// <summary>Runs on a background thread: the generator may spend tens of milliseconds of CPU on each piece.</summary>
    private void Generate(IApplication app, string prompt, CancellationToken cancellation)
    {
        string? failure = null;
        try
        {
            foreach (var piece in _generate(prompt, cancellation))
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
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e.Message;
        }
        app.Invoke(() => EndTurn(failure));
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

    private void EndTurn(string? failure)
    {
        FlushPendingPieces();
        if (failure is null)
        {
            _session.FinishTurn();
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
            _ => "Enter sends · Esc quits",
        };
        _statusLine.Text = $"{_status} │ {hint}";
    }
}
