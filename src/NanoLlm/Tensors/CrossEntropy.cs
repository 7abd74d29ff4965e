namespace NanoLlm.Tensors;

/// <summary>Softmax followed by the negative log-likelihood of the target class, fused so the gradient is one pass.</summary>
public static class CrossEntropy
{
    // loss = mean_r(−log softmax(logits[r])[target[r]]);  dlogits[r] = (softmax(logits[r]) − onehot(target[r])) / rows
    public static double ForwardBackward(Span<float> dlogits, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int cols)
    {
        var scale = 1f / rows;
        double loss = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * cols, cols);
            var gradRow = dlogits.Slice(r * cols, cols);
            var max = MaxOf(row);
            var sum = 0f;
            for (var j = 0; j < cols; j++)
            {
                var e = MathF.Exp(row[j] - max);
                gradRow[j] = e;
                sum += e;
            }
            var target = targets[r];
            loss += Math.Log(sum) - (row[target] - max);
            var normalize = scale / sum;
            for (var j = 0; j < cols; j++)
            {
                gradRow[j] *= normalize;
            }
            gradRow[target] -= scale;
        }
        return loss / rows;
    }

    // loss = mean_r(−log softmax(logits[r])[target[r]])
    public static double Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int cols)
    {
        double loss = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * cols, cols);
            var max = MaxOf(row);
            var sum = 0f;
            for (var j = 0; j < cols; j++)
            {
                sum += MathF.Exp(row[j] - max);
            }
            loss += Math.Log(sum) - (row[targets[r]] - max);
        }
        return loss / rows;
    }

    private static float MaxOf(ReadOnlySpan<float> row)
    {
        var max = float.NegativeInfinity;
        foreach (var v in row)
        {
            max = MathF.Max(max, v);
        }
        return max;
    }
}
