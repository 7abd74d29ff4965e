using NanoLlm.Chat.Tui;
using NanoLlm.Config;
using NanoLlm.Inspection;
using NanoLlm.Training;

namespace NanoLlm.Chat;

/// <summary>The chat window's model side, played by a <see cref="Conversation"/> with the trained model.</summary>
public sealed class ConversationChatModel(Conversation conversation) : IChatModel
{
    public SamplingSettings Settings
    {
        get => conversation.Settings;
        set => conversation.Settings = value;
    }

    public IEnumerable<string> Reply(string prompt, CancellationToken cancellation) => conversation.Reply(prompt, cancellation);

    public TokenDraw? LastDraw(int count) => conversation.LastDraw(count);

    public void Reset() => conversation.Reset();
}
