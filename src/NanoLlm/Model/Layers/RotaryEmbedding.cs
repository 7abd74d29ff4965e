namespace NanoLlm.Model.Layers;

/// <summary>
/// Rotary position embeddings (Su et al. 2021, RoFormer): a head's query and key, D values, are turned as D/2 planes
/// (values i and i + D/2, the GPT-NeoX and modded-nanogpt pairing), plane i by the angle p·θᵢ at position p, so
/// q·k depends on the positions only through their difference. The cosines and sines are computed in double and
/// rounded once to float, for every position the model sees.
/// </summary>
public sealed class RotaryEmbedding
{
    public const double DefaultBase = 10_000;

    private readonly int _half;
    private readonly float[] _cos;
    private readonly float[] _sin;

    // θᵢ = base^(−2i/D),  i = 0 … D/2 − 1
    public RotaryEmbedding(int positions, int headSize, double @base = DefaultBase)
    {
        if (headSize % 2 != 0)
        {
            throw new ArgumentException($"A head of {headSize} values has no planes to rotate: the head size must be even.", nameof(headSize));
        }
        _half = headSize / 2;
        HeadSize = headSize;
        _cos = new float[positions * _half];
        _sin = new float[positions * _half];
        for (var p = 0; p < positions; p++)
        {
            for (var i = 0; i < _half; i++)
            {
                var angle = p * Math.Pow(@base, -2.0 * i / headSize);
                _cos[(p * _half) + i] = (float)Math.Cos(angle);
                _sin[(p * _half) + i] = (float)Math.Sin(angle);
            }
        }
    }

    public int HeadSize { get; }

    // (v[i], v[i + D/2]) ← (v[i]·cos − v[i + D/2]·sin, v[i]·sin + v[i + D/2]·cos),  angle p·θᵢ
    public void Rotate(Span<float> head, int position) => Turn(head, position, 1f);

    // the inverse (and transpose) rotation, by −p·θᵢ: how a gradient goes back through Rotate
    public void RotateBack(Span<float> head, int position) => Turn(head, position, -1f);

    private void Turn(Span<float> head, int position, float direction)
    {
        var cos = _cos.AsSpan(position * _half, _half);
        var sin = _sin.AsSpan(position * _half, _half);
        var first = head[.._half];
        var second = head.Slice(_half, _half);
        for (var i = 0; i < _half; i++)
        {
            var (x, y, s) = (first[i], second[i], direction * sin[i]);
            first[i] = (x * cos[i]) - (y * s);
            second[i] = (x * s) + (y * cos[i]);
        }
    }
}
