using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>Matrix products in PyTorch's Linear layout: weights are <c>W[N,K]</c>, one row per output.</summary>
public static class MatMul
{
    // Y[M,N] = X[M,K]·W[N,K]ᵀ + b[N]   (overwrites Y; an empty b means no bias)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, int m, int k, int n)
    {
        for (var i = 0; i < m; i++)
        {
            var xRow = x.Slice(i * k, k);
            var yRow = y.Slice(i * n, n);
            for (var j = 0; j < n; j++)
            {
                yRow[j] = Dot(xRow, w.Slice(j * k, k)) + (bias.IsEmpty ? 0f : bias[j]);
            }
        }
    }

    // dX[M,K] += dY[M,N]·W[N,K]
    public static void BackwardInput(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int m, int k, int n)
    {
        for (var i = 0; i < m; i++)
        {
            var dxRow = dx.Slice(i * k, k);
            for (var j = 0; j < n; j++)
            {
                Axpy(dxRow, dy[(i * n) + j], w.Slice(j * k, k));
            }
        }
    }

    // dW[N,K] += dY[M,N]ᵀ·X[M,K];  db[N] += Σ_rows dY   (an empty db is skipped)
    public static void BackwardWeight(Span<float> dw, Span<float> db, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int m, int k, int n)
    {
        for (var j = 0; j < n; j++)
        {
            var dwRow = dw.Slice(j * k, k);
            var biasSum = 0f;
            for (var i = 0; i < m; i++)
            {
                var g = dy[(i * n) + j];
                Axpy(dwRow, g, x.Slice(i * k, k));
                biasSum += g;
            }
            if (!db.IsEmpty)
            {
                db[j] += biasSum;
            }
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= a.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                acc = Vector256.FusedMultiplyAdd(Vector256.Create(a[i..]), Vector256.Create(b[i..]), acc);
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    // y += α·x
    private static void Axpy(Span<float> y, float alpha, ReadOnlySpan<float> x)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var a = Vector256.Create(alpha);
            for (; i <= y.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256.FusedMultiplyAdd(a, Vector256.Create(x[i..]), Vector256.Create(y[i..])).CopyTo(y[i..]);
            }
        }
        for (; i < y.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }
}
