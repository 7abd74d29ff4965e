using NanoLlm.Config;
using NanoLlm.Inspection;
using NanoLlm.Model;
using NanoLlm.Sampling;
using NanoLlm.Tokenization;

namespace NanoLlm.Training;

/// <summary>
/// Turns of text with one model: a single inference context and a single <see cref="Sampler"/> live across the turns.
/// Each turn's prompt goes on a new line after the text so far (the model sees as much of it as its context length
/// holds), and each turn draws on from the random stream where the last one stopped, so two turns never replay the
/// same random numbers; the same seed and the same turns still give the same replies. One turn at a time; change
/// <see cref="Settings"/> between turns.
/// </summary>
public sealed class Conversation
{
    private const string TurnSeparator = "\n";

    private readonly Tokenizer _tokenizer;
    private readonly IInference _inference;
    private readonly SamplingSettings _startingSettings;
    private readonly int _contextLength;
    private readonly float[] _logits;
    private readonly float[] _lastDrawLogits;
    private int _lastDrawn = -1;
    private Sampler _sampler;
    private bool _hasContext;

    internal Conversation(ILanguageModel model, Tokenizer tokenizer, SamplingSettings settings)
    {
        _tokenizer = tokenizer;
        _inference = model.StartInference();
        _startingSettings = settings;
        _contextLength = model.Spec.ContextLength;
        _logits = new float[model.Spec.VocabSize];
        _lastDrawLogits = new float[model.Spec.VocabSize];
        _sampler = new Sampler(settings, model.Spec.VocabSize, _contextLength);
    }

    /// <summary>The sampling controls for the next turn; a new seed restarts the random stream from it.</summary>
    public SamplingSettings Settings
    {
        get => _sampler.Settings;
        set => _sampler.Settings = value;
    }

    /// <summary>
    /// Feeds <paramref name="prompt"/> and generates up to <c>max_new_tokens</c> after it, yielding text as soon as it
    /// is whole UTF-8. Cancelling stops before the next token; what was generated stays in the context.
    /// </summary>
    public IEnumerable<string> Reply(string prompt, CancellationToken cancellation = default)
    {
        // An empty first prompt starts from a newline, the most neutral context a text corpus offers.
        var text = _hasContext ? TurnSeparator + prompt : prompt.Length == 0 ? TurnSeparator : prompt;
        // A prompt is text: the spelling of a special token in it is not the token.
        foreach (var token in _tokenizer.Encode(text, SpecialTokenHandling.AsText))
        {
            Feed(token);
        }
        _hasContext = true;

        var decoder = _tokenizer.StartTextDecoder();
        var maxNewTokens = Settings.MaxNewTokens;
        for (var i = 0; i < maxNewTokens && !cancellation.IsCancellationRequested; i++)
        {
            var next = _sampler.Next(_logits);
            _logits.CopyTo(_lastDrawLogits);
            _lastDrawn = next;
            Feed(next);
            // The model ends its text the way its corpus ended documents.
            if (next == _tokenizer.EndOfText)
            {
                break;
            }
            var piece = decoder.Append(next);
            if (piece.Length > 0)
            {
                yield return piece;
            }
        }
        var tail = decoder.Flush();
        if (tail.Length > 0)
        {
            yield return tail;
        }
    }

    /// <summary>
    /// The last token a reply drew and the <paramref name="count"/> most likely candidates it was drawn among, with the
    /// model's probabilities before the sampling controls (what temperature, top-k and top-p act on); null before any.
    /// </summary>
    public TokenDraw? LastDraw(int count) => _lastDrawn < 0
        ? null
        : new TokenDraw(
            TokenCandidates.Of(_lastDrawLogits, _lastDrawn, _tokenizer),
            TokenCandidates.Top(_lastDrawLogits, count, _tokenizer));

    /// <summary>Starts over: forgets the context and goes back to the settings and random stream the conversation began with.</summary>
    public void Reset()
    {
        _inference.Reset();
        _sampler = new Sampler(_startingSettings, _logits.Length, _contextLength);
        _hasContext = false;
        _lastDrawn = -1;
    }

    private void Feed(int token)
    {
        _inference.Feed(token).CopyTo(_logits);
        _sampler.Append(token);
    }
}
