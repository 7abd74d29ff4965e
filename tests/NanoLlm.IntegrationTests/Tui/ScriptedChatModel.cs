using NanoLlm.Chat.Tui;
using NanoLlm.Config;

namespace NanoLlm.IntegrationTests.Tui;

/// <summary>A chat model whose replies a test scripts; it keeps the settings the window gives it and counts resets.</summary>
public sealed class ScriptedChatModel(Func<string, CancellationToken, IEnumerable<string>> reply, SamplingSettings? settings = null) : IChatModel
{
    private readonly SamplingSettings _startingSettings = settings ?? new SamplingSettings();

    public SamplingSettings Settings { get; set; } = settings ?? new SamplingSettings();

    public int Resets { get; private set; }

    public IEnumerable<string> Reply(string prompt, CancellationToken cancellation) => reply(prompt, cancellation);

    public void Reset()
    {
        Resets++;
        Settings = _startingSettings;
    }
}
