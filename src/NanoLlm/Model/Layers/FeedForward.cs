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
    private readonly LayerScratch _scratch;
    private float[] _preActivation = [];

    /// <param name="scratch">Shared with the model's other layers; a layer of its own without one.</param>
    public FeedForward(ParameterSet parameters, string prefix, LayerScratch? scratch = null)
    {
        _scratch = scratch ?? new LayerScratch();
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

    /// <summary>The GELU's input <c>h[rows, H]</c> of the last <see cref="Forward"/> (kept for backward).</summary>
    public ReadOnlySpan<float> PreActivation(int rows) => _preActivation.AsSpan(0, rows * _hidden);

    public void EnsureCapacity(int rows)
    {
        if (_preActivation.Length < rows * _hidden)
        {
            _preActivation = new float[rows * _hidden];
        }
        _scratch.Reserve(ScratchBuffer.Activation, rows * _hidden);
        _scratch.Reserve(ScratchBuffer.ActivationGrads, rows * _hidden);
    }

    // h = x·W_fcᵀ + b_fc;  a = GELU(h);  y = a·W_projᵀ + b_proj
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _hidden;
        var activation = _scratch.Get(ScratchBuffer.Activation, size);
        Linear.Forward(_preActivation, x, _fcWeight, _fcBias, rows);
        Gelu.Forward(activation, _preActivation.AsSpan(0, size));
        Linear.Forward(y, activation, _projWeight, _projBias, rows);
    }

    // a = GELU(h) again (cheaper to recompute than to keep per layer);  da = dy·W_proj;  dh = GELU'(h)·da (over da);
    // dx += dh·W_fc   (plus the weight and bias gradients of both layers)
    public void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows)
    {
        var size = rows * _hidden;
        var activation = _scratch.Get(ScratchBuffer.Activation, size);
        var activationGrads = _scratch.Get(ScratchBuffer.ActivationGrads, size);
        Gelu.Forward(activation, _preActivation.AsSpan(0, size));
        activationGrads.Clear();
        Linear.Backward(activationGrads, _projWeight, _projBias, dy, activation, rows);
        // dh overwrites da in place: da is not needed once dh is known.
        Gelu.Backward(activationGrads, _preActivation.AsSpan(0, size), activationGrads);
        Linear.Backward(dx, _fcWeight, _fcBias, activationGrads, x, rows);
    }

    /// <summary>One position at inference: the same math on a single row, in the caller's scratch buffers.</summary>
    public void ForwardOne(Span<float> y, ReadOnlySpan<float> x, Span<float> hiddenScratch)
    {
        Linear.ForwardRow(hiddenScratch, x, _fcWeight, _fcBias);
        Gelu.Forward(hiddenScratch[.._hidden], hiddenScratch[.._hidden]);
        Linear.ForwardRow(y, hiddenScratch, _projWeight, _projBias);
    }

    /// <summary>The two projections packed for <see cref="ForwardRows"/>.</summary>
    internal (PackedMatrix Input, PackedMatrix Output) PackProjections() => (Linear.Pack(_fcWeight), Linear.Pack(_projWeight));

    /// <summary>
    /// Rows of several sequences at inference, as matrix products over all rows with the weights packed by
    /// <see cref="PackProjections"/>; a row's result does not depend on the other rows. In the caller's scratch.
    /// </summary>
    /// <param name="hidden">Scratch for <c>[rows, H]</c>.</param>
    internal void ForwardRows(Span<float> y, ReadOnlySpan<float> x, int rows, (PackedMatrix Input, PackedMatrix Output) packed, Span<float> hidden)
    {
        hidden = hidden[..(rows * _hidden)];
        Linear.ForwardRows(hidden, x, packed.Input, _fcBias, rows);
        // Row by row, as ForwardOne: a vector kernel's tail may round differently from its body.
        for (var i = 0; i < rows; i++)
        {
            Gelu.Forward(hidden.Slice(i * _hidden, _hidden), hidden.Slice(i * _hidden, _hidden));
        }
        Linear.ForwardRows(y, hidden, packed.Output, _projBias, rows);
    }
}
