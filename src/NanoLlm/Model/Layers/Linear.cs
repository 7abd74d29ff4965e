using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>A fully connected layer in PyTorch's layout: <c>weight[N,K]</c>, <c>bias[N]</c> (null: no bias).</summary>
public static class Linear
{
    // y[M,N] = x[M,K]·Wᵀ + b
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, Parameter weight, Parameter? bias, int rows)
    {
        var (outputs, inputs) = (weight.Shape[0], weight.Shape[1]);
        MatMul.Forward(y[..(rows * outputs)], x[..(rows * inputs)], weight.Values, bias is null ? [] : bias.Values, rows, inputs, outputs);
    }

    // y[N] = W[N,K]·x[K] + b, one dot product per output: for a single row (generation), packing panels for the
    // blocked GEMM would cost more than the arithmetic.
    public static void ForwardRow(Span<float> y, ReadOnlySpan<float> x, Parameter weight, Parameter? bias)
    {
        var (outputs, inputs) = (weight.Shape[0], weight.Shape[1]);
        MatVec.Forward(y, x, weight.Values, bias is null ? [] : bias.Values, outputs, inputs);
    }

    /// <summary>The weight packed once for <see cref="ForwardRows"/> (a snapshot: for inference, not training).</summary>
    internal static PackedMatrix Pack(Parameter weight) => MatMul.PackWeights(weight.Values, weight.Shape[1], weight.Shape[0]);

    // y[M,N] = x[M,K]·Wᵀ + b over the rows of a decoding step, with W packed by Pack: a row's result is the same alone or
    // among others (MatMul.ForwardPacked)
    internal static void ForwardRows(Span<float> y, ReadOnlySpan<float> x, PackedMatrix weight, Parameter? bias, int rows) =>
        MatMul.ForwardPacked(y, x, weight, bias is null ? [] : bias.Values, rows);

    // dW += dyᵀ·x;  db += Σ_rows dy;  dx += dy·W, or dx = dy·W without accumulate (skipped when dx is empty: the
    // layer's input needs no gradient)
    public static void Backward(Span<float> dx, Parameter weight, Parameter? bias, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows, bool accumulate = true)
    {
        var (outputs, inputs) = (weight.Shape[0], weight.Shape[1]);
        Span<float> biasGrads = bias is null ? [] : bias.Grads;
        if (dx.IsEmpty)
        {
            MatMul.BackwardWeight(weight.Grads, biasGrads, dy[..(rows * outputs)], x[..(rows * inputs)], rows, inputs, outputs);
        }
        else
        {
            MatMul.Backward(weight.Grads, biasGrads, dx[..(rows * inputs)], dy[..(rows * outputs)], x[..(rows * inputs)], weight.Values, rows, inputs, outputs, accumulate);
        }
    }
}
