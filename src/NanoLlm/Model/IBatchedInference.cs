namespace NanoLlm.Model;

/// <summary>One row of a batched forward pass: <paramref name="Token"/> appended to the sequence in <paramref name="Slot"/>.</summary>
/// <param name="WantsLogits">Whether the logits of the token that follows this one are wanted (a sequence's last row of a step).</param>
public readonly record struct BatchRow(int Slot, int Token, bool WantsLogits);

/// <summary>
/// Inference for many sequences at once (continuous batching, as vLLM and llama.cpp's server do it): each of
/// <see cref="Slots"/> slots holds one sequence's context, and one <see cref="Forward"/> runs the new tokens of any
/// slots through the model together. A slot's rows are appended in order; each slot forgets its context as
/// <see cref="IInference"/> does when it is full. A row's logits never depend on the other rows of the batch, so a
/// sequence gets the same numbers whoever it shares the model with.
/// </summary>
public interface IBatchedInference
{
    /// <summary>How many sequences can be open at once.</summary>
    int Slots { get; }

    /// <summary>Empties <paramref name="slot"/>'s context, for a new sequence.</summary>
    void Reset(int slot);

    /// <summary>
    /// Appends every row's token to its slot, in order, and writes the logits <c>[V]</c> that follow the k-th row asking
    /// for them at <c>logits[k·V ..]</c>.
    /// </summary>
    void Forward(ReadOnlySpan<BatchRow> rows, Span<float> logits);
}

/// <summary>
/// The batched interface over a model without a batched path: one <see cref="IInference"/> per slot, fed row by row.
/// Results are the model's single-sequence ones; the model's work is not shared.
/// </summary>
public sealed class SequentialBatchedInference : IBatchedInference
{
    private readonly IInference[] _slots;
    private readonly int _vocabSize;

    public SequentialBatchedInference(ILanguageModel model, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _slots = [.. Enumerable.Range(0, slots).Select(_ => model.StartInference())];
        _vocabSize = model.Spec.VocabSize;
    }

    public int Slots => _slots.Length;

    public void Reset(int slot) => _slots[slot].Reset();

    public void Forward(ReadOnlySpan<BatchRow> rows, Span<float> logits)
    {
        var k = 0;
        foreach (var row in rows)
        {
            var next = _slots[row.Slot].Feed(row.Token);
            if (row.WantsLogits)
            {
                next.CopyTo(logits.Slice(k++ * _vocabSize, _vocabSize));
            }
        }
    }
}
