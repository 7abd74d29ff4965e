using NanoLlm.Chat.Tui;
using NanoLlm.Config;
using NanoLlm.Inspection;

namespace NanoLlm.IntegrationTests.Tui;

/// <summary>
/// A chat model whose replies a test scripts; it keeps the settings the window gives it, counts resets, and answers
/// <see cref="LastDraw"/> with <see cref="Draw"/> (cut to the count asked for).
/// </summary>
public sealed class ScriptedChatModel(Func<string, CancellationToken, IEnumerable<string>> reply, SamplingSettings? settings = null) : IChatModel
{
    private readonly SamplingSettings _startingSettings = settings ?? new SamplingSettings();

    public SamplingSettings Settings { get; set; } = settings ?? new SamplingSettings();

    public int Resets { get; private set; }

    public TokenDraw? Draw { get; set; }

    public TokenDraw? LastDraw(int count) => Draw is null ? null : Draw with { Top = [.. Draw.Top.Take(count)] };

    public IEnumerable<string> Reply(string prompt, CancellationToken cancellation) => reply(prompt, cancellation);

    public void Reset()
    {
        Resets++;
        Settings = _startingSettings;
    }
}
