namespace NanoLlm.Tensors;

/// <summary>Token embeddings: a gather of table rows and, backward, a scatter-add into them.</summary>
public static unsafe class Embedding
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

    // dtable[tokens[r],:] += dy[r,:]   (rows in order, so repeated tokens sum the same way every time; threads split
    // the columns, 16 at a time, so no two write the same element)
    public static void Backward(Span<float> dtable, ReadOnlySpan<float> dy, ReadOnlySpan<int> tokens, int cols)
    {
        var tableRows = CheckShapes(dy.Length, dtable.Length, tokens, cols, nameof(dy));
        foreach (var token in tokens)
        {
            CheckToken(token, tableRows);
        }
        fixed (float* dtp = dtable, dyp = dy)
        fixed (int* tp = tokens)
        {
            var job = new ScatterJob { Table = dtp, Dy = dyp, Tokens = tp, Rows = tokens.Length, Cols = cols, Width = KernelSettings.VectorWidth };
            ParallelRows.For((cols + 15) / 16, tokens.Length * 16L, &ScatterColumns, &job);
        }
    }

    // Columns [first·16, last·16) of every row's scatter-add, rows in order
    private static void ScatterColumns(void* context, int first, int last)
    {
        var job = (ScatterJob*)context;
        var start = first * 16;
        var width = Math.Min(last * 16, job->Cols) - start;
        for (var r = 0; r < job->Rows; r++)
        {
            var row = new Span<float>(job->Table + ((long)job->Tokens[r] * job->Cols) + start, width);
            VectorLoops.Map(job->Width, row, new ReadOnlySpan<float>(job->Dy + ((long)r * job->Cols) + start, width), row, default(ElementWise.AddOperator));
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

    private struct ScatterJob
    {
        public float* Table;
        public float* Dy;
        public int* Tokens;
        public int Rows;
        public int Cols;
        public int Width;
    }
}
