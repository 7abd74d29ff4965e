using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// The transformer's position-wise feed-forward network: Linear C→H, an activation, Linear H→C, with the nanoGPT
/// parameter names <c>{prefix}.c_fc</c> and <c>{prefix}.c_proj</c>. GELU (GPT-2) and ReLU² map H values to H;
/// SwiGLU's <c>c_fc</c> makes 2H, a gate and an up projection side by side in each row, <c>[g | u]</c>, and the
/// activation SiLU(g)·u is H wide.
/// </summary>
public sealed class FeedForward
{
    private readonly Parameter _fcWeight;
    private readonly Parameter _fcBias;
    private readonly Parameter _projWeight;
    private readonly Parameter _projBias;
    private readonly Activation _activation;
    private readonly int _hidden;
    private readonly int _inputWidth;
    private readonly LayerScratch _scratch;
    private float[] _preActivation = [];

    /// <param name="scratch">Shared with the model's other layers; a layer of its own without one.</param>
    public FeedForward(ParameterSet parameters, string prefix, LayerScratch? scratch = null, Activation activation = Activation.Gelu)
    {
        _scratch = scratch ?? new LayerScratch();
        _fcWeight = parameters[$"{prefix}.c_fc.weight"];
        _fcBias = parameters[$"{prefix}.c_fc.bias"];
        _projWeight = parameters[$"{prefix}.c_proj.weight"];
        _projBias = parameters[$"{prefix}.c_proj.bias"];
        _activation = activation;
        _inputWidth = _fcWeight.Shape[0];
        _hidden = _projWeight.Shape[1];
    }

    /// <param name="hidden">H, the width of the activation (SwiGLU's <c>c_fc</c> makes 2H).</param>
    public static IEnumerable<ParameterSpec> Specs(string prefix, int channels, int hidden, Activation activation = Activation.Gelu)
    {
        var inputWidth = activation == Activation.SwiGlu ? 2 * hidden : hidden;
        return
        [
            new($"{prefix}.c_fc.weight", [inputWidth, channels], Decay: true),
            new($"{prefix}.c_fc.bias", [inputWidth], Decay: false),
            new($"{prefix}.c_proj.weight", [channels, hidden], Decay: true),
            new($"{prefix}.c_proj.bias", [channels], Decay: false),
        ];
    }

    /// <summary>The output projection, whose initial scale the model sets for the depth of the residual stream.</summary>
    public Parameter OutputProjection => _projWeight;

    public Parameter InputProjection => _fcWeight;

    public Activation Activation => _activation;

    /// <summary>The activation's input <c>h[rows, H]</c> (<c>[rows, 2H]</c> for SwiGLU) of the last <see cref="Forward"/> (kept for backward).</summary>
    public ReadOnlySpan<float> PreActivation(int rows) => _preActivation.AsSpan(0, rows * _inputWidth);

    /// <summary>Scratch floats <see cref="ForwardRows"/> needs for <paramref name="rows"/> rows.</summary>
    public int RowsScratchSize(int rows) => rows * (_inputWidth + (_activation == Activation.SwiGlu ? _hidden : 0));

    /// <summary>Scratch floats <see cref="ForwardOne"/> needs.</summary>
    public int ScratchSize => _inputWidth;

    public void EnsureCapacity(int rows)
    {
        if (_preActivation.Length < rows * _inputWidth)
        {
            _preActivation = new float[rows * _inputWidth];
        }
        _scratch.Reserve(ScratchBuffer.Activation, rows * _inputWidth);
        _scratch.Reserve(ScratchBuffer.ActivationGrads, rows * _inputWidth);
    }

    // h = x·W_fcᵀ + b_fc;  a = act(h);  y = a·W_projᵀ + b_proj
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int rows)
    {
        var activation = _scratch.Get(ScratchBuffer.Activation, rows * _hidden);
        Linear.Forward(_preActivation, x, _fcWeight, _fcBias, rows);
        Activate(activation, _preActivation.AsSpan(0, rows * _inputWidth), rows);
        Linear.Forward(y, activation, _projWeight, _projBias, rows);
    }

    // a = act(h) again (cheaper to recompute than to keep per layer);  da = dy·W_proj;  dh = act'(h)·da;
    // dx += dh·W_fc, or dx = dh·W_fc without accumulate   (plus the weight and bias gradients of both layers)
    public void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int rows, bool accumulate = true)
    {
        var preActivation = _preActivation.AsSpan(0, rows * _inputWidth);
        var activation = _scratch.Get(ScratchBuffer.Activation, rows * _inputWidth);
        var activationGrads = _scratch.Get(ScratchBuffer.ActivationGrads, rows * _hidden);
        Activate(activation[..(rows * _hidden)], preActivation, rows);
        Linear.Backward(activationGrads, _projWeight, _projBias, dy, activation, rows, accumulate: false);
        Span<float> preActivationGrads;
        switch (_activation)
        {
            case Activation.SwiGlu:
                // dh is 2H wide: it goes where the activation was, which c_proj's gradient no longer needs.
                preActivationGrads = activation;
                SwiGlu.Backward(preActivationGrads, preActivation, activationGrads, rows, _hidden);
                break;
            case Activation.ReluSquared:
                preActivationGrads = activationGrads;
                ReluSquared.Backward(activationGrads, preActivation, activationGrads);
                break;
            default:
                // dh overwrites da in place: da is not needed once dh is known.
                preActivationGrads = activationGrads;
                Gelu.Backward(activationGrads, preActivation, activationGrads);
                break;
        }
        Linear.Backward(dx, _fcWeight, _fcBias, preActivationGrads, x, rows, accumulate);
    }

    /// <summary>One position at inference: the same math on a single row, in the caller's scratch buffers.</summary>
    public void ForwardOne(Span<float> y, ReadOnlySpan<float> x, Span<float> hiddenScratch)
    {
        var h = hiddenScratch[.._inputWidth];
        Linear.ForwardRow(h, x, _fcWeight, _fcBias);
        Activate(h[.._hidden], h, 1);
        Linear.ForwardRow(y, h[.._hidden], _projWeight, _projBias);
    }

    /// <summary>The two projections packed for <see cref="ForwardRows"/>.</summary>
    internal (PackedMatrix Input, PackedMatrix Output) PackProjections() => (Linear.Pack(_fcWeight), Linear.Pack(_projWeight));

    /// <summary>
    /// Rows of several sequences at inference, as matrix products over all rows with the weights packed by
    /// <see cref="PackProjections"/>; a row's result does not depend on the other rows. In the caller's scratch.
    /// </summary>
    /// <param name="hidden">Scratch of <see cref="RowsScratchSize"/> floats.</param>
    internal void ForwardRows(Span<float> y, ReadOnlySpan<float> x, int rows, (PackedMatrix Input, PackedMatrix Output) packed, Span<float> hidden)
    {
        var h = hidden[..(rows * _inputWidth)];
        Linear.ForwardRows(h, x, packed.Input, _fcBias, rows);
        var activation = _activation == Activation.SwiGlu ? hidden.Slice(rows * _inputWidth, rows * _hidden) : h;
        // Row by row, as ForwardOne: a vector kernel's tail may round differently from its body.
        for (var i = 0; i < rows; i++)
        {
            Activate(activation.Slice(i * _hidden, _hidden), h.Slice(i * _inputWidth, _inputWidth), 1);
        }
        Linear.ForwardRows(y, activation, packed.Output, _projBias, rows);
    }

    // a = GELU(h) | max(0, h)² | SiLU(g)·u
    private void Activate(Span<float> a, ReadOnlySpan<float> h, int rows)
    {
        switch (_activation)
        {
            case Activation.SwiGlu:
                SwiGlu.Forward(a, h, rows, _hidden);
                break;
            case Activation.ReluSquared:
                ReluSquared.Forward(a, h);
                break;
            default:
                Gelu.Forward(a, h);
                break;
        }
    }
}

/// <summary>The feed-forward network's activation: the <c>activation</c> key.</summary>
public enum Activation
{
    Gelu,
    SwiGlu,
    ReluSquared,
}
