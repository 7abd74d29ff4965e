using System.Text;

namespace NanoLlm.Chat.Tui;

/// <summary>
/// The transcript and the idle → generating → (stopping →) idle cycle of a chat, with no terminal in sight, so the
/// rules are testable on their own. Not thread-safe: the UI thread owns it, and a completion's pieces reach it
/// marshalled onto that thread.
/// </summary>
public sealed class ChatSession : IDisposable
{
    private const string UserLabel = "you: ";
    private const string ModelLabel = "model: ";
    private const string ChatLabel = "chat: ";
    private const string StoppedMark = " [stopped]";

    private readonly StringBuilder _transcript = new();
    private CancellationTokenSource? _cancellation;

    public ChatState State { get; private set; } = ChatState.Idle;

    public string Transcript => _transcript.ToString();

    public bool IsBusy => State != ChatState.Idle;

    /// <summary>
    /// Starts a turn: echoes <paramref name="prompt"/> as the user's line and opens the model's line for the pieces to
    /// come. Refused (false) while a completion is still running, or for a blank prompt.
    /// </summary>
    public bool TryStartTurn(string prompt, out CancellationToken cancellation)
    {
        cancellation = CancellationToken.None;
        if (IsBusy || string.IsNullOrWhiteSpace(prompt))
        {
            return false;
        }
        StartParagraph();
        _transcript.Append(UserLabel).Append(prompt).Append('\n').Append(ModelLabel);
        _cancellation = new CancellationTokenSource();
        cancellation = _cancellation.Token;
        State = ChatState.Generating;
        return true;
    }

    /// <summary>
    /// Records a slash command the chat carried out (or refused) with its answer, as an exchange of its own. Commands
    /// wait for a running completion to end, so this is refused (false) while one runs.
    /// </summary>
    public bool TryAnswerCommand(string command, string answer)
    {
        if (IsBusy)
        {
            return false;
        }
        StartParagraph();
        _transcript.Append(UserLabel).Append(command).Append('\n').Append(ChatLabel).Append(answer).Append('\n');
        return true;
    }

    public void AppendPiece(string piece)
    {
        EnsureBusy();
        _transcript.Append(piece);
    }

    /// <summary>Asks the running completion to stop; false when there is none to stop (or it is already stopping).</summary>
    public bool RequestStop()
    {
        if (State != ChatState.Generating)
        {
            return false;
        }
        State = ChatState.Stopping;
        _cancellation!.Cancel();
        return true;
    }

    /// <summary>
    /// Closes the model's line once the completion has ended, marking it when Esc cut it short; a <paramref name="note"/>
    /// (the <c>/probs</c> line) goes on a line of its own under it.
    /// </summary>
    public void FinishTurn(string? note = null)
    {
        EnsureBusy();
        if (State == ChatState.Stopping)
        {
            _transcript.Append(StoppedMark);
        }
        if (note is not null)
        {
            _transcript.Append('\n').Append(note);
        }
        EndTurn();
    }

    /// <summary>Closes the model's line with the reason the completion failed; the chat goes on.</summary>
    public void FailTurn(string message)
    {
        EnsureBusy();
        _transcript.Append(" [error: ").Append(message).Append(']');
        EndTurn();
    }

    public void Dispose() => _cancellation?.Dispose();

    private void EndTurn()
    {
        _transcript.Append('\n');
        _cancellation!.Dispose();
        _cancellation = null;
        State = ChatState.Idle;
    }

    private void StartParagraph()
    {
        if (_transcript.Length > 0)
        {
            _transcript.Append('\n');
        }
    }

    private void EnsureBusy()
    {
        if (!IsBusy)
        {
            throw new InvalidOperationException("No completion is running.");
        }
    }
}
