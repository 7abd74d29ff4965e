namespace NanoLlm.Chat.Tui;

/// <summary>Where a chat stands: waiting for a prompt, streaming a completion, or winding one down after Esc.</summary>
public enum ChatState
{
    Idle,
    Generating,
    Stopping,
}
