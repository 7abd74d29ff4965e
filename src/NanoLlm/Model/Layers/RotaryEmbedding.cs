using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NanoLlm.Tensors;

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

    /// <summary>cos(p·θᵢ) at [p·D/2 + i]: a position's D/2 cosines side by side.</summary>
    internal ReadOnlySpan<float> Cosines => _cos;

    /// <summary>sin(p·θᵢ), laid out as <see cref="Cosines"/>.</summary>
    internal ReadOnlySpan<float> Sines => _sin;

    // (v[i], v[i + D/2]) ← (v[i]·cos − v[i + D/2]·sin, v[i]·sin + v[i + D/2]·cos),  angle p·θᵢ
    public void Rotate(Span<float> head, int position) => Turn(head, Cosines.Slice(position * _half, _half), Sines.Slice(position * _half, _half), 1f, KernelSettings.VectorWidth);

    // the inverse (and transpose) rotation, by −p·θᵢ: how a gradient goes back through Rotate
    public void RotateBack(Span<float> head, int position) => Turn(head, Cosines.Slice(position * _half, _half), Sines.Slice(position * _half, _half), -1f, KernelSettings.VectorWidth);

    /// <summary>
    /// Turns the D/2 planes of <paramref name="head"/> by the angles of <paramref name="cos"/> and <paramref name="sin"/>
    /// (one position's), backwards when <paramref name="direction"/> is −1, in vectors of at most
    /// <paramref name="width"/> bits. Each value is the same products and one difference or sum in every width (no
    /// fused multiply-add), so the vector paths give the scalar path's numbers.
    /// </summary>
    internal static void Turn(Span<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, float direction, int width)
    {
        var half = cos.Length;
        ref var first = ref MemoryMarshal.GetReference(head);
        ref var second = ref Unsafe.Add(ref first, half);
        ref var cosines = ref MemoryMarshal.GetReference(cos);
        ref var sines = ref MemoryMarshal.GetReference(sin);
        nuint i = 0;
        var length = (nuint)half;
        if (width >= 512)
        {
            var turn = Vector512.Create(direction);
            for (; i + 16 <= length; i += 16)
            {
                var (x, y, c, s) = (Vector512.LoadUnsafe(ref first, i), Vector512.LoadUnsafe(ref second, i), Vector512.LoadUnsafe(ref cosines, i), turn * Vector512.LoadUnsafe(ref sines, i));
                ((x * c) - (y * s)).StoreUnsafe(ref first, i);
                ((x * s) + (y * c)).StoreUnsafe(ref second, i);
            }
        }
        if (width >= 256)
        {
            var turn = Vector256.Create(direction);
            for (; i + 8 <= length; i += 8)
            {
                var (x, y, c, s) = (Vector256.LoadUnsafe(ref first, i), Vector256.LoadUnsafe(ref second, i), Vector256.LoadUnsafe(ref cosines, i), turn * Vector256.LoadUnsafe(ref sines, i));
                ((x * c) - (y * s)).StoreUnsafe(ref first, i);
                ((x * s) + (y * c)).StoreUnsafe(ref second, i);
            }
        }
        if (width >= 128)
        {
            var turn = Vector128.Create(direction);
            for (; i + 4 <= length; i += 4)
            {
                var (x, y, c, s) = (Vector128.LoadUnsafe(ref first, i), Vector128.LoadUnsafe(ref second, i), Vector128.LoadUnsafe(ref cosines, i), turn * Vector128.LoadUnsafe(ref sines, i));
                ((x * c) - (y * s)).StoreUnsafe(ref first, i);
                ((x * s) + (y * c)).StoreUnsafe(ref second, i);
            }
        }
        for (; i < length; i++)
        {
            var (x, y, s) = (Unsafe.Add(ref first, i), Unsafe.Add(ref second, i), direction * Unsafe.Add(ref sines, i));
            var c = Unsafe.Add(ref cosines, i);
            Unsafe.Add(ref first, i) = (x * c) - (y * s);
            Unsafe.Add(ref second, i) = (x * s) + (y * c);
        }
    }
}
