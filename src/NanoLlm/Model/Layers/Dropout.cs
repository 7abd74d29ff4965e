namespace NanoLlm.Model.Layers;

/// <summary>
/// Inverted dropout (Srivastava et al. 2014): in training each value is zeroed with probability p and the rest scaled
/// by 1/(1−p), so evaluation and generation use the layer as the identity. The mask is drawn from a seed and the batch
/// (see <see cref="SplitMix64"/>), kept for the backward pass, and applied in place.
/// </summary>
public sealed class Dropout(float rate)
{
    private float[] _mask = [];
    private bool _active;

    public float Rate { get; } = rate;

    /// <summary>Whether the last <see cref="Forward"/> applied a mask (training with a rate above 0).</summary>
    public bool Active => _active;

    // y = x ⊙ m,  m_i = [u_i ≥ p] / (1 − p)   (in training; y = x otherwise)
    public void Forward(Span<float> x, bool training, int seed, long stream)
    {
        _active = training && Rate > 0;
        if (!_active)
        {
            return;
        }
        if (_mask.Length < x.Length)
        {
            _mask = new float[x.Length];
        }
        var random = new SplitMix64(seed, stream);
        var keep = 1f / (1f - Rate);
        for (var i = 0; i < x.Length; i++)
        {
            _mask[i] = random.NextFloat() >= Rate ? keep : 0f;
            x[i] *= _mask[i];
        }
    }

    // dx = dy ⊙ m, in place
    public void Backward(Span<float> dy)
    {
        if (!_active)
        {
            return;
        }
        for (var i = 0; i < dy.Length; i++)
        {
            dy[i] *= _mask[i];
        }
    }
}
