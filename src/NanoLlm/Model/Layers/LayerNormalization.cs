using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// Layer normalization with a learned gain γ and shift β (<c>{prefix}.weight</c>, <c>{prefix}.bias</c>, both [C]).
/// Keeps each row's mean and reciprocal standard deviation from the forward pass for the backward pass.
/// </summary>
public sealed class LayerNormalization : INormalization
{
    private readonly Parameter _gamma;
    private readonly Parameter _beta;
    private readonly int _channels;
    private float[] _mean = [];
    private float[] _rstd = [];

    public LayerNormalization(ParameterSet parameters, string prefix)
    {
        _gamma = parameters[$"{prefix}.weight"];
        _beta = parameters[$"{prefix}.bias"];
        _channels = _gamma.Length;
    }

    public static IEnumerable<ParameterSpec> Specs(string prefix, int channels) =>
    [
        new($"{prefix}.weight", [channels], Decay: false),
        new($"{prefix}.bias", [channels], Decay: false),
    ];

    /// <summary>γ = 1, β = 0: the layer starts as a plain normalization.</summary>
    public void Initialize()
    {
        _gamma.Values.Fill(1f);
        _beta.Values.Clear();
    }

    public void EnsureCapacity(int rows)
    {
        if (_mean.Length < rows)
        {
            _mean = new float[rows];
            _rstd = new float[rows];
        }
    }

    // y[R,C] = (x − mean(x))·rstd(x)·γ + β, row by row
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _channels;
        LayerNorm.Forward(y[..size], _mean.AsSpan(0, rows), _rstd.AsSpan(0, rows), x[..size], _gamma.Values, _beta.Values, rows, _channels);
    }

    // sum = a + b;  y = LayerNorm(sum), in one pass
    public void AddForward(Span<float> sum, Span<float> y, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int rows)
    {
        var size = rows * _channels;
        LayerNorm.AddForward(
            sum[..size], y[..size], _mean.AsSpan(0, rows), _rstd.AsSpan(0, rows), a[..size], b[..size], _gamma.Values, _beta.Values, rows, _channels);
    }

    /// <summary>One row at inference, keeping nothing for a backward pass.</summary>
    public void ForwardOne(Span<float> y, ReadOnlySpan<float> x)
    {
        Span<float> statistics = stackalloc float[2];
        LayerNorm.Forward(y[.._channels], statistics[..1], statistics[1..], x[.._channels], _gamma.Values, _beta.Values, 1, _channels);
    }

    // dx += ∂L/∂x (accumulates, so a residual stream's gradient can be summed in place);  dγ += Σ dy·x̂;  dβ += Σ dy
    public void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _channels;
        LayerNorm.Backward(
            dx[..size], _gamma.Grads, _beta.Grads, dy[..size], x[..size], _mean.AsSpan(0, rows), _rstd.AsSpan(0, rows), _gamma.Values, rows, _channels);
    }
}
