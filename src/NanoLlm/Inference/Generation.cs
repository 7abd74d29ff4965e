using System.Runtime.CompilerServices;
using System.Text;
using NanoLlm.Tokenization;

namespace NanoLlm.Inference;

/// <summary>
/// One generation queued on a <see cref="BatchedDecoder"/>: read its text with <see cref="ReadTextAsync"/> (once), then
/// <see cref="Finish"/> and the token counts say how it went.
/// </summary>
public sealed class Generation
{
    private readonly BatchedDecoder.Sequence _sequence;
    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyList<string> _stop;

    internal Generation(BatchedDecoder.Sequence sequence, Tokenizer tokenizer, int promptTokens, IReadOnlyList<string> stop)
    {
        _sequence = sequence;
        _tokenizer = tokenizer;
        _stop = stop;
        PromptTokens = promptTokens;
    }

    /// <summary>The prompt's length in tokens.</summary>
    public int PromptTokens { get; }

    /// <summary>Tokens generated so far (read by <see cref="ReadTextAsync"/>), the stop sequence's included.</summary>
    public int CompletionTokens { get; private set; }

    /// <summary>Why the generation ended, once <see cref="ReadTextAsync"/> has finished.</summary>
    public FinishReason Finish { get; private set; } = FinishReason.Cancelled;

    /// <summary>
    /// The generated text, piece by piece as soon as it is whole UTF-8, up to (not including) the first stop sequence.
    /// Cancelling, or leaving the loop early, stops the generation and frees its place in the decoder.
    /// </summary>
    public async IAsyncEnumerable<string> ReadTextAsync([EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var decoder = Encoding.UTF8.GetDecoder();
        var characters = new char[64];
        var stops = new StopSequences(_stop);
        try
        {
            await foreach (var token in _sequence.Tokens.Reader.ReadAllAsync(cancellation).ConfigureAwait(false))
            {
                CompletionTokens++;
                var piece = stops.Push(Decode(decoder, _tokenizer.TokenBytes(token), ref characters, flush: false));
                if (piece.Length > 0)
                {
                    yield return piece;
                }
                if (stops.Stopped)
                {
                    _sequence.Stop();
                    Finish = FinishReason.Stop;
                    yield break;
                }
            }
            cancellation.ThrowIfCancellationRequested();
            var tail = stops.Push(Decode(decoder, [], ref characters, flush: true));
            tail += stops.Flush();
            if (tail.Length > 0)
            {
                yield return tail;
            }
            Finish = stops.Stopped ? FinishReason.Stop : _sequence.Reason;
            if (Finish == FinishReason.Cancelled)
            {
                throw new OperationCanceledException("The generation was cancelled.");
            }
        }
        finally
        {
            if (Finish == FinishReason.Cancelled)
            {
                _sequence.Stop();
            }
            _sequence.Release();
        }
    }

    private static string Decode(Decoder decoder, ReadOnlySpan<byte> bytes, ref char[] characters, bool flush)
    {
        var needed = decoder.GetCharCount(bytes, flush);
        if (needed > characters.Length)
        {
            characters = new char[needed];
        }
        var count = decoder.GetChars(bytes, characters, flush);
        return new string(characters, 0, count);
    }
}
