namespace NanoLlm.Bench;

/// <summary>The plain scalar loops the vectorized kernels are measured against (the same math, one float at a time).</summary>
public static class NaiveKernels
{
    // y[r,:] = exp(x[r,:] − max) / Σ exp(x[r,:] − max)
    public static void Softmax(float[] y, float[] x, int rows, int cols)
    {
        for (var r = 0; r < rows; r++)
        {
            var offset = r * cols;
            var max = float.NegativeInfinity;
            for (var j = 0; j < cols; j++)
            {
                max = Math.Max(max, x[offset + j]);
            }
            var sum = 0f;
            for (var j = 0; j < cols; j++)
            {
                y[offset + j] = MathF.Exp(x[offset + j] - max);
                sum += y[offset + j];
            }
            for (var j = 0; j < cols; j++)
            {
                y[offset + j] /= sum;
            }
        }
    }

    // mean_r −log softmax(logits[r])[target[r]];  dlogits = (softmax − onehot) / rows
    public static double CrossEntropy(float[] dlogits, float[] logits, int[] targets, int rows, int cols)
    {
        double loss = 0;
        for (var r = 0; r < rows; r++)
        {
            var offset = r * cols;
            var max = float.NegativeInfinity;
            for (var j = 0; j < cols; j++)
            {
                max = Math.Max(max, logits[offset + j]);
            }
            var sum = 0f;
            for (var j = 0; j < cols; j++)
            {
                dlogits[offset + j] = MathF.Exp(logits[offset + j] - max);
                sum += dlogits[offset + j];
            }
            for (var j = 0; j < cols; j++)
            {
                dlogits[offset + j] /= sum * rows;
            }
            dlogits[offset + targets[r]] -= 1f / rows;
            loss += Math.Log(sum) - (logits[offset + targets[r]] - max);
        }
        return loss / rows;
    }

    // y = (x − μ)·rstd·γ + β per row
    public static void LayerNorm(float[] y, float[] mean, float[] rstd, float[] x, float[] gamma, float[] beta, int rows, int cols)
    {
        for (var r = 0; r < rows; r++)
        {
            var offset = r * cols;
            var m = 0f;
            for (var j = 0; j < cols; j++)
            {
                m += x[offset + j];
            }
            m /= cols;
            var v = 0f;
            for (var j = 0; j < cols; j++)
            {
                v += (x[offset + j] - m) * (x[offset + j] - m);
            }
            var s = 1f / MathF.Sqrt((v / cols) + 1e-5f);
            for (var j = 0; j < cols; j++)
            {
                y[offset + j] = ((x[offset + j] - m) * s * gamma[j]) + beta[j];
            }
            mean[r] = m;
            rstd[r] = s;
        }
    }

    // y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    public static void Gelu(float[] y, float[] x)
    {
        var s = MathF.Sqrt(2f / MathF.PI);
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = 0.5f * v * (1f + MathF.Tanh(s * (v + (0.044715f * v * v * v))));
        }
    }
}
