using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// The transformer's position-wise feed-forward network: Linear C→H (H = ratio·C), GELU, Linear H→C, with the
/// nanoGPT parameter names <c>{prefix}.c_fc</c> and <c>{prefix}.c_proj</c>.
/// </summary>
public sealed class FeedForward
{
    private readonly Parameter _fcWeight;
    private readonly Parameter _fcBias;
    private readonly Parameter _projWeight;
    private readonly Parameter _projBias;
    private readonly int _hidden;
    private float[] _preActivation = [];
    private float[] _activation = [];
    private float[] _activationGrads = [];
    private float[] _preActivationGrads = [];

    public FeedForward(ParameterSet parameters, string prefix)
    {
        _fcWeight = parameters[$"{prefix}.c_fc.weight"];
        _fcBias = parameters[$"{prefix}.c_fc.bias"];
        _projWeight = parameters[$"{prefix}.c_proj.weight"];
        _projBias = parameters[$"{prefix}.c_proj.bias"];
        _hidden = _fcWeight.Shape[0];
    }

    public static IEnumerable<ParameterSpec> Specs(string prefix, int channels, int hidden) =>
    [
        new($"{prefix}.c_fc.weight", [hidden, channels], Decay: true),
        new($"{prefix}.c_fc.bias", [hidden], Decay: false),
        new($"{prefix}.c_proj.weight", [channels, hidden], Decay: true),
        new($"{prefix}.c_proj.bias", [channels], Decay: false),
    ];

    /// <summary>The output projection, whose initial scale the model sets for the depth of the residual stream.</summary>
    public Parameter OutputProjection => _projWeight;

    public Parameter InputProjection => _fcWeight;

    public void EnsureCapacity(int rows)
    {
        if (_preActivation.Length < rows * _hidden)
        {
            _preActivation = new float[rows * _hidden];
            _activation = new float[rows * _hidden];
            _activationGrads = new float[rows * _hidden];
            _preActivationGrads = new float[rows * _hidden];
        }
    }

    // h = x·W_fcᵀ + b_fc;  a = GELU(h);  y = a·W_projᵀ + b_proj
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _hidden;
        Linear.Forward(_preActivation, x, _fcWeight, _fcBias, rows);
        Gelu.Forward(_activation.AsSpan(0, size), _preActivation.AsSpan(0, size));
        Linear.Forward(y, _activation, _projWeight, _projBias, rows);
    }

    // da = dy·W_proj;  dh = GELU'(h)·da;  dx += dh·W_fc   (plus the weight and bias gradients of both layers)
    public void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _hidden;
        var activationGrads = _activationGrads.AsSpan(0, size);
        var preActivationGrads = _preActivationGrads.AsSpan(0, size);
        activationGrads.Clear();
        Linear.Backward(activationGrads, _projWeight, _projBias, dy, _activation, rows);
        preActivationGrads.Clear();
        Gelu.Backward(preActivationGrads, _preActivation.AsSpan(0, size), activationGrads);
        Linear.Backward(dx, _fcWeight, _fcBias, preActivationGrads, x, rows);
    }

    /// <summary>One position at inference: the same math on a single row, in the caller's scratch buffers.</summary>
    public void ForwardOne(Span<float> y, ReadOnlySpan<float> x, Span<float> hiddenScratch)
    {
        Linear.ForwardRow(hiddenScratch, x, _fcWeight, _fcBias);
        Gelu.Forward(hiddenScratch[.._hidden], hiddenScratch[.._hidden]);
        Linear.ForwardRow(y, hiddenScratch, _projWeight, _projBias);
    }
}
