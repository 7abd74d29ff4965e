using System.Drawing;
using Terminal.Gui.Drawing;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;

namespace NanoLlm.Chat.Tui;

/// <summary>
/// The read-only transcript: word-wrapped to the view's width, scrollable with the wheel and Page Up/Down, and
/// following its end as text arrives unless the reader has scrolled up to look back.
/// </summary>
public sealed class TranscriptView : View
{
    private readonly WrappedLines _lines = new();
    private string _text = string.Empty;

    public TranscriptView()
    {
        ViewportSettings |= ViewportSettingsFlags.HasVerticalScrollBar;
        AddCommand(Command.ScrollUp, () => ScrollVertical(-1));
        AddCommand(Command.ScrollDown, () => ScrollVertical(1));
        AddCommand(Command.PageUp, () => ScrollVertical(-Math.Max(Viewport.Height - 1, 1)));
        AddCommand(Command.PageDown, () => ScrollVertical(Math.Max(Viewport.Height - 1, 1)));
        MouseBindings.Add(MouseFlags.WheeledUp, Command.ScrollUp);
        MouseBindings.Add(MouseFlags.WheeledDown, Command.ScrollDown);
    }

    public string Transcript
    {
        get => _text;
        set
        {
            _text = value;
            Rewrap(followEnd: IsAtEnd);
        }
    }

    private bool IsAtEnd => Viewport.Y + Viewport.Height >= _lines.Count;

    public void ScrollToEnd() => Viewport = Viewport with { Y = Math.Max(_lines.Count - Viewport.Height, 0) };

    protected override void OnViewportChanged(DrawEventArgs e)
    {
        base.OnViewportChanged(e);
        // A new width (a resized terminal, the scroll bar coming or going) changes where every line wraps.
        if (e.NewViewport.Width != e.OldViewport.Width)
        {
            Rewrap(followEnd: e.OldViewport.Y + e.OldViewport.Height >= _lines.Count);
        }
    }

    protected override bool OnDrawingContent(DrawContext? context)
    {
        SetAttribute(GetAttributeForRole(VisualRole.Normal));
        for (var row = 0; row < Viewport.Height; row++)
        {
            var index = Viewport.Y + row;
            if (index >= _lines.Count)
            {
                break;
            }
            Move(0, row);
            AddStr(_lines[index]);
        }
        return true;
    }

    private void Rewrap(bool followEnd)
    {
        _lines.Update(_text, Viewport.Width);
        SetContentSize(new Size(Viewport.Width, _lines.Count));
        if (followEnd)
        {
            ScrollToEnd();
        }
        SetNeedsDraw();
    }
}
