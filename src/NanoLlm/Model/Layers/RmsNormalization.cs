using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// RMS normalization with a learned gain γ (<c>{prefix}.weight</c>, [C]) and no shift, as Llama uses it. Keeps each
/// row's reciprocal RMS from the forward pass for the backward pass.
/// </summary>
public sealed class RmsNormalization : INormalization
{
    private readonly Parameter _gamma;
    private readonly int _channels;
    private float[] _rstd = [];

    public RmsNormalization(ParameterSet parameters, string prefix)
    {
        _gamma = parameters[$"{prefix}.weight"];
        _channels = _gamma.Length;
    }

    public static IEnumerable<ParameterSpec> Specs(string prefix, int channels) => [new($"{prefix}.weight", [channels], Decay: false)];

    public void Initialize() => _gamma.Values.Fill(1f);

    public void EnsureCapacity(int rows)
    {
        if (_rstd.Length < rows)
        {
            _rstd = new float[rows];
        }
    }

    // y[R,C] = x·rstd(x)·γ, row by row
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _channels;
        RmsNorm.Forward(y[..size], _rstd.AsSpan(0, rows), x[..size], _gamma.Values, rows, _channels);
    }

    public void ForwardOne(Span<float> y, ReadOnlySpan<float> x)
    {
        Span<float> rstd = stackalloc float[1];
        RmsNorm.Forward(y[.._channels], rstd, x[.._channels], _gamma.Values, 1, _channels);
    }

    // dx += ∂L/∂x;  dγ += Σ dy·x̂
    public void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _channels;
        RmsNorm.Backward(dx[..size], _gamma.Grads, dy[..size], x[..size], _rstd.AsSpan(0, rows), _gamma.Values, rows, _channels);
    }
}
