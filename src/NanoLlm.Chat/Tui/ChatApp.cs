using Terminal.Gui.App;

namespace NanoLlm.Chat.Tui;

/// <summary>The full-screen terminal chat: owns the Terminal.Gui application from start to a restored terminal.</summary>
public static class ChatApp
{
    /// <summary>
    /// Shows <see cref="ChatWindow"/> until the user quits with Esc. Disposing the application (after the window)
    /// leaves the alternate screen and restores the terminal, also when the chat fails.
    /// </summary>
    public static void Run(string title, string description, IChatModel model)
    {
        using var app = Application.Create().Init();
        using var window = new ChatWindow(title, description, model);
        app.Run(window);
    }
}
