namespace NanoLlm.Tensors;

/// <summary>Token embeddings: a gather of table rows and, backward, a scatter-add into them.</summary>
public static class Embedding
{
    // y[r,:] = table[tokens[r],:]
    public static void Forward(Span<float> y, ReadOnlySpan<float> table, ReadOnlySpan<int> tokens, int cols)
    {
        var tableRows = CheckShapes(y.Length, table.Length, tokens, cols, nameof(y));
        for (var r = 0; r < tokens.Length; r++)
        {
            CheckToken(tokens[r], tableRows);
            table.Slice(tokens[r] * cols, cols).CopyTo(y.Slice(r * cols, cols));
        }
    }

    // dtable[tokens[r],:] += dy[r,:]   (rows in order, so repeated tokens sum the same way every time)
    public static void Backward(Span<float> dtable, ReadOnlySpan<float> dy, ReadOnlySpan<int> tokens, int cols)
    {
        var tableRows = CheckShapes(dy.Length, dtable.Length, tokens, cols, nameof(dy));
        var width = KernelSettings.VectorWidth;
        for (var r = 0; r < tokens.Length; r++)
        {
            CheckToken(tokens[r], tableRows);
            var row = dtable.Slice(tokens[r] * cols, cols);
            VectorLoops.Map(width, row, dy.Slice(r * cols, cols), row, default(ElementWise.AddOperator));
        }
    }

    // y or dy may be longer than the tokens' rows (a buffer sized for the largest batch); its leading rows are used.
    private static int CheckShapes(int rowsLength, int tableLength, ReadOnlySpan<int> tokens, int cols, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if (rowsLength < (long)tokens.Length * cols)
        {
            throw new ArgumentException($"{name} holds {rowsLength} floats; {tokens.Length} rows of {cols} need {(long)tokens.Length * cols}.", name);
        }
        return tableLength / cols;
    }

    private static void CheckToken(int token, int tableRows)
    {
        if ((uint)token >= (uint)tableRows)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"A token must be a row of the table (below {tableRows}).");
        }
    }
}
