using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

public sealed unsafe partial class CausalSelfAttention
{
    /// <summary>The two projections packed for <see cref="ForwardRows"/>.</summary>
    internal (PackedMatrix Input, PackedMatrix Output) PackProjections() => (Linear.Pack(_qkvWeight), Linear.Pack(_projWeight));

    /// <summary>
    /// New positions of several sequences at once (batched decoding): row i's key and value join
    /// <paramref name="caches"/>[i] at <paramref name="positions"/>[i] and its query attends over that cache's positions
    /// 0..positions[i]. The projections are matrix products over all rows (with the weights packed once, by
    /// <see cref="PackProjections"/>); every row's result is the one it gets alone. Rows of one sequence come in order of position and see each other's keys.
    /// </summary>
    /// <param name="qkv">Scratch for <c>[rows, 3C]</c>.</param>
    /// <param name="headOutputs">Scratch for <c>[rows, C]</c>.</param>
    /// <param name="scores">Scratch for one row's scores: a cache's capacity.</param>
    // [q|k|v] = x·W_attnᵀ + b;  o_i = softmax(q_i·K_iᵀ/√D)·V_i per head;  y = O·W_projᵀ + b_proj
    internal void ForwardRows(
        Span<float> y, ReadOnlySpan<float> x, int rows, (PackedMatrix Input, PackedMatrix Output) packed, ReadOnlySpan<KeyValueCache> caches,
        ReadOnlySpan<int> positions, Span<float> qkv, Span<float> headOutputs, Span<float> scores)
    {
        var (c, d) = (_channels, _headSize);
        qkv = qkv[..(rows * 3 * c)];
        Linear.ForwardRows(qkv, x, packed.Input, _qkvBias, rows);
        for (var i = 0; i < rows; i++)
        {
            var row = qkv.Slice(i * 3 * c, 3 * c);
            if (TransformsQueryKey)
            {
                TransformQueryKey(row, positions[i]);
            }
            row.Slice(c, c).CopyTo(caches[i].Keys.AsSpan(positions[i] * c, c));
            row.Slice(2 * c, c).CopyTo(caches[i].Values.AsSpan(positions[i] * c, c));
        }

        for (var i = 0; i < rows; i++)
        {
            var (cache, position) = (caches[i], positions[i]);
            var rowScores = scores[..(position + 1)];
            var output = headOutputs.Slice(i * c, c);
            output.Clear();
            for (var h = 0; h < _heads; h++)
            {
                var query = qkv.Slice((i * 3 * c) + (h * d), d);
                for (var j = 0; j <= position; j++)
                {
                    rowScores[j] = ElementWise.Dot(query, cache.Keys.AsSpan((j * c) + (h * d), d)) * _scale;
                }
                Softmax.Forward(rowScores, rowScores, 1, position + 1);
                var headOutput = output.Slice(h * d, d);
                for (var j = 0; j <= position; j++)
                {
                    ElementWise.Axpy(headOutput, rowScores[j], cache.Values.AsSpan((j * c) + (h * d), d));
                }
            }
        }
        Linear.ForwardRows(y, headOutputs, packed.Output, _projBias, rows);
    }
}
