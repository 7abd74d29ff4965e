using System.Threading.Channels;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Sampling;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Inference;

/// <summary>
/// Serves many generations with one model at once (continuous batching, the plain loop of llama.cpp's server and vLLM's
/// scheduler): admit waiting requests into free slots, run one step that feeds every active sequence's newest token
/// (and a new sequence's whole prompt) through the model as one batch, sample each sequence's next token with its own
/// <see cref="Sampler"/>, hand it over, retire the finished and the cancelled. Sequences join and leave between
/// steps. A sequence's tokens are the ones it gets when served alone with the same seed, whoever shares the steps.
/// One loop thread does all the model's work; <see cref="Start"/> may be called from any thread.
/// </summary>
public sealed class BatchedDecoder : IDisposable
{
    private readonly Cortex _cortex;
    private readonly IBatchedInference _inference;
    private readonly int _vocabSize;
    private readonly int _contextLength;
    private readonly Queue<Sequence> _waiting = new();
    private readonly Sequence?[] _slots;
    private readonly List<Sequence> _stepping = [];
    private readonly float[] _logits;
    private readonly Thread _loop;
    private readonly object _gate = new();
    private readonly BatchRow[] _rows;
    private int _active;
    private bool _disposed;

    /// <param name="maxBatch">The most sequences decoded together; more requests wait for a free slot.</param>
    public BatchedDecoder(Cortex cortex, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _cortex = cortex;
        _inference = cortex.Model.StartBatchedInference(maxBatch);
        _vocabSize = cortex.Model.Spec.VocabSize;
        _contextLength = cortex.Model.Spec.ContextLength;
        _slots = new Sequence?[maxBatch];
        _logits = new float[maxBatch * _vocabSize];
        _rows = new BatchRow[maxBatch * (_contextLength + 1)];
        _loop = new Thread(Loop) { IsBackground = true, Name = "NanoLlm decoder" };
        _loop.Start();
    }

    public Cortex Cortex => _cortex;

    /// <summary>How many slots the decoder has: the most sequences in one step.</summary>
    public int MaxBatch => _slots.Length;

    /// <summary>Sequences being decoded now.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Requests waiting for a free slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>
    /// Queues a generation of up to <c>settings.MaxNewTokens</c> tokens after <paramref name="prompt"/> (an empty
    /// prompt starts from a newline, as <see cref="Conversation"/> does). Cancelling <paramref name="cancellation"/>
    /// stops it before its next step and frees its slot.
    /// </summary>
    public Generation Start(string prompt, SamplingSettings settings, IReadOnlyList<string>? stop = null, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tokens = _cortex.Tokenizer.Encode(prompt.Length == 0 ? ChatPrompt.TurnSeparator : prompt, SpecialTokenHandling.AsText);
        var sampler = new Sampler(settings, _vocabSize, _contextLength);
        foreach (var token in tokens)
        {
            sampler.Append(token);
        }
        var sequence = new Sequence(ContextTail(tokens), sampler, settings.MaxNewTokens, cancellation);
        lock (_gate)
        {
            _waiting.Enqueue(sequence);
            Monitor.Pulse(_gate);
        }
        return new Generation(sequence, _cortex.Tokenizer, tokens.Length, stop ?? []);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.Pulse(_gate);
        }
        _loop.Join();
    }

    // Feeding n tokens to a context of T that restarts from its last T/2 tokens when full leaves the last `count` of
    // them in the cache: feeding only those gives the same cache at a fraction of the work for a long prompt.
    private int[] ContextTail(ReadOnlySpan<int> tokens)
    {
        var count = 0;
        for (var i = 0; i < tokens.Length; i++)
        {
            count = count == _contextLength ? (_contextLength / 2) + 1 : count + 1;
        }
        var tail = new int[count];
        for (var i = 0; i < count; i++)
        {
            tail[i] = tokens[tokens.Length - count + i];
        }
        return tail;
    }

    private void Loop()
    {
        while (Admit())
        {
            var rows = 0;
            _stepping.Clear();
            for (var slot = 0; slot < _slots.Length; slot++)
            {
                var sequence = _slots[slot];
                if (sequence is null)
                {
                    continue;
                }
                if (sequence.Cancellation.IsCancellationRequested)
                {
                    Retire(slot, FinishReason.Cancelled);
                    continue;
                }
                if (sequence.Pending is { } prompt)
                {
                    _inference.Reset(slot);
                    for (var i = 0; i < prompt.Length; i++)
                    {
                        _rows[rows++] = new BatchRow(slot, prompt[i], WantsLogits: i == prompt.Length - 1);
                    }
                    sequence.Pending = null;
                }
                else
                {
                    _rows[rows++] = new BatchRow(slot, sequence.Last, WantsLogits: true);
                }
                _stepping.Add(sequence);
            }
            if (_stepping.Count == 0)
            {
                continue;
            }

            try
            {
                _inference.Forward(_rows.AsSpan(0, rows), _logits);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                foreach (var sequence in _stepping)
                {
                    Retire(sequence.Slot, FinishReason.Cancelled, e);
                }
                continue;
            }
            for (var k = 0; k < _stepping.Count; k++)
            {
                var sequence = _stepping[k];
                var token = sequence.Sampler.Next(_logits.AsSpan(k * _vocabSize, _vocabSize));
                sequence.Sampler.Append(token);
                sequence.Last = token;
                sequence.Tokens.Writer.TryWrite(token);
                if (++sequence.Generated == sequence.MaxNewTokens)
                {
                    Retire(sequence.Slot, FinishReason.Length);
                }
            }
        }
    }

    // Moves waiting requests into free slots; with nothing to do, sleeps until a request comes. False once disposed.
    private bool Admit()
    {
        lock (_gate)
        {
            while (true)
            {
                if (_disposed)
                {
                    for (var slot = 0; slot < _slots.Length; slot++)
                    {
                        if (_slots[slot] is not null)
                        {
                            Retire(slot, FinishReason.Cancelled);
                        }
                    }
                    while (_waiting.TryDequeue(out var waiting))
                    {
                        waiting.Finish(FinishReason.Cancelled, null);
                    }
                    return false;
                }
                for (var slot = 0; slot < _slots.Length && _waiting.Count > 0; slot++)
                {
                    if (_slots[slot] is null)
                    {
                        var sequence = _waiting.Dequeue();
                        if (sequence.Cancellation.IsCancellationRequested)
                        {
                            sequence.Finish(FinishReason.Cancelled, null);
                            slot--;
                            continue;
                        }
                        sequence.Slot = slot;
                        _slots[slot] = sequence;
                        Interlocked.Increment(ref _active);
                    }
                }
                if (_active > 0)
                {
                    return true;
                }
                Monitor.Wait(_gate);
            }
        }
    }

    private void Retire(int slot, FinishReason reason, Exception? error = null)
    {
        _slots[slot]!.Finish(reason, error);
        _slots[slot] = null;
        Interlocked.Decrement(ref _active);
    }

    /// <summary>One request's state on the loop thread; its tokens go to the reader through a channel.</summary>
    internal sealed class Sequence
    {
        private readonly CancellationTokenSource _stop;

        public Sequence(int[] prompt, Sampler sampler, int maxNewTokens, CancellationToken cancellation)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            Cancellation = _stop.Token;
            (Pending, Sampler, MaxNewTokens) = (prompt, sampler, maxNewTokens);
        }

        // Read by the loop; a token stays readable after its source is disposed.
        public CancellationToken Cancellation { get; }

        public Channel<int> Tokens { get; } = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public int[]? Pending { get; set; }

        public Sampler Sampler { get; }

        public int MaxNewTokens { get; }

        public int Slot { get; set; } = -1;

        public int Last { get; set; }

        public int Generated { get; set; }

        public FinishReason Reason { get; private set; }

        /// <summary>Asks the loop to stop this sequence before its next step (a stop sequence was found).</summary>
        public void Stop() => _stop.Cancel();

        /// <summary>The reader is done: it neither stops the sequence nor reads any more.</summary>
        public void Release() => _stop.Dispose();

        public void Finish(FinishReason reason, Exception? error)
        {
            Reason = reason;
            Tokens.Writer.TryComplete(error);
        }
    }
}

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>It generated as many tokens as it was allowed.</summary>
    Length,

    /// <summary>It produced one of its stop sequences.</summary>
    Stop,

    /// <summary>It was cancelled (the caller gave up, or the decoder shut down).</summary>
    Cancelled,
}
