using Terminal.Gui.Text;

namespace NanoLlm.Chat.Tui;

/// <summary>
/// Text word-wrapped to a width in terminal columns, one paragraph per '\n' (an empty paragraph is an empty line, but a
/// final '\n' adds no line after it). The transcript only ever grows at its
/// end, so paragraphs already closed by a '\n' keep their lines and an update re-wraps only what follows them: a long
/// chat stays cheap to redraw token by token.
/// </summary>
public sealed class WrappedLines
{
    private const int TabWidth = 4;

    private readonly List<string> _closedParagraphLines = [];
    private List<string> _openParagraphLines = [];
    private string _text = string.Empty;
    private int _closedLength;
    private int _width;

    public int Count => _closedParagraphLines.Count + _openParagraphLines.Count;

    public string this[int index] =>
        index < _closedParagraphLines.Count ? _closedParagraphLines[index] : _openParagraphLines[index - _closedParagraphLines.Count];

    public void Update(string text, int width)
    {
        width = Math.Max(width, 1);
        var keepsClosedParagraphs = width == _width
            && text.Length >= _closedLength
            && text.AsSpan(0, _closedLength).SequenceEqual(_text.AsSpan(0, _closedLength));
        if (!keepsClosedParagraphs)
        {
            _closedParagraphLines.Clear();
            _closedLength = 0;
            _width = width;
        }
        _text = text;

        int newline;
        while ((newline = text.IndexOf('\n', _closedLength)) >= 0)
        {
            _closedParagraphLines.AddRange(Wrap(text[_closedLength..newline], width));
            _closedLength = newline + 1;
        }
        _openParagraphLines = _closedLength == text.Length ? [] : Wrap(text[_closedLength..], width);
    }

    private static List<string> Wrap(string paragraph, int width)
    {
        if (paragraph.Length == 0)
        {
            return [string.Empty];
        }
        var lines = TextFormatter.WordWrapText(paragraph, width, preserveTrailingSpaces: false, TabWidth, TextDirection.LeftRight_TopBottom);
        return lines.Count == 0 ? [string.Empty] : lines;
    }
}
