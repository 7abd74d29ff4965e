using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// The MLP's input: the embeddings of the last N tokens, concatenated into one vector per position (Bengio et al.
/// 2003, makemore's MLP). Written as one gather: <c>x[R, N·C]</c> is the same memory as <c>x[R·N, C]</c>, so the
/// concatenation is an embedding lookup of the context tokens in order.
/// </summary>
public static class ContextEmbedding
{
    // context[b,t,j] = inputs[b, t−N+1+j], or the padding token where that position is before the window's start
    public static void Contexts(Span<int> contexts, ReadOnlySpan<int> inputs, int batchSize, int length, int contextLength, int paddingToken)
    {
        for (var b = 0; b < batchSize; b++)
        {
            for (var t = 0; t < length; t++)
            {
                var context = contexts.Slice(((b * length) + t) * contextLength, contextLength);
                for (var j = 0; j < contextLength; j++)
                {
                    var source = t - contextLength + 1 + j;
                    context[j] = source < 0 ? paddingToken : inputs[(b * length) + source];
                }
            }
        }
    }

    // x[r, j·C:(j+1)·C] = E[context[r,j], :]
    public static void Forward(Span<float> x, Parameter table, ReadOnlySpan<int> contexts)
    {
        var c = table.Shape[1];
        Embedding.Forward(x[..(contexts.Length * c)], table.Values, contexts, c);
    }

    // dE[context[r,j], :] += dx[r, j·C:(j+1)·C]
    public static void Backward(Parameter table, ReadOnlySpan<float> dx, ReadOnlySpan<int> contexts)
    {
        var c = table.Shape[1];
        Embedding.Backward(table.Grads, dx[..(contexts.Length * c)], contexts, c);
    }
}
