namespace NanoLlm.Inference;

/// <summary>
/// Cuts generated text at the first stop sequence (OpenAI's <c>stop</c>): pieces go through <see cref="Push"/>, which
/// releases only text that cannot be the start of a stop sequence any more; the stop sequence itself is never released.
/// </summary>
public sealed class StopSequences
{
    private readonly string[] _stops;
    private readonly int _holdBack;
    private readonly System.Text.StringBuilder _pending = new();

    public StopSequences(IReadOnlyList<string> stops)
    {
        _stops = [.. stops.Where(s => s.Length > 0)];
        _holdBack = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length) - 1;
    }

    /// <summary>Whether a stop sequence was found; nothing is released after it.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds <paramref name="piece"/> and returns the text now safe to release (possibly empty).</summary>
    public string Push(string piece)
    {
        if (Stopped)
        {
            return string.Empty;
        }
        _pending.Append(piece);
        var text = _pending.ToString();
        var first = -1;
        foreach (var stop in _stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }
        if (first >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return text[..first];
        }
        var release = Math.Max(0, text.Length - _holdBack);
        // Never split a surrogate pair between two releases.
        if (release > 0 && char.IsHighSurrogate(text[release - 1]))
        {
            release--;
        }
        _pending.Remove(0, release);
        return text[..release];
    }

    /// <summary>The text held back at the end of the generation (it turned out not to start a stop sequence).</summary>
    public string Flush()
    {
        var rest = Stopped ? string.Empty : _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
