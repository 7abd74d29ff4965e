using NanoLlm.Config;
using NanoLlm.Inspection;

namespace NanoLlm.Chat.Tui;

/// <summary>
/// What the chat window talks to: a model conversation that keeps its context and random stream across turns (the
/// library's <c>Conversation</c> in the program, a script in tests). One turn at a time; settings change between turns.
/// </summary>
public interface IChatModel
{
    /// <summary>The sampling controls for the next turn; a new seed restarts the random stream from it.</summary>
    SamplingSettings Settings { get; set; }

    /// <summary>Streams the reply to <paramref name="prompt"/>; called on a background thread.</summary>
    IEnumerable<string> Reply(string prompt, CancellationToken cancellation);

    /// <summary>The last token a reply drew and the <paramref name="count"/> most likely candidates there; null before any.</summary>
    TokenDraw? LastDraw(int count);

    /// <summary>Forgets the conversation and goes back to the settings (and random stream) it started with.</summary>
    void Reset();
}
