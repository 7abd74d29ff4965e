namespace NanoLlm.Tensors;

/// <summary>Token embeddings: a gather of table rows and, backward, a scatter-add into them.</summary>
public static class Embedding
{
    // y[r,:] = table[tokens[r],:]
    public static void Forward(Span<float> y, ReadOnlySpan<float> table, ReadOnlySpan<int> tokens, int cols)
    {
        for (var r = 0; r < tokens.Length; r++)
        {
            table.Slice(tokens[r] * cols, cols).CopyTo(y.Slice(r * cols, cols));
        }
    }

    // dtable[tokens[r],:] += dy[r,:]   (rows in order, so repeated tokens sum deterministically)
    public static void Backward(Span<float> dtable, ReadOnlySpan<float> dy, ReadOnlySpan<int> tokens, int cols)
    {
        for (var r = 0; r < tokens.Length; r++)
        {
            var target = dtable.Slice(tokens[r] * cols, cols);
            var source = dy.Slice(r * cols, cols);
            for (var c = 0; c < cols; c++)
            {
                target[c] += source[c];
            }
        }
    }
}
