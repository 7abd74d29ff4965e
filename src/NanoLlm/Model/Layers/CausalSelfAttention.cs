using NanoLlm.Tensors;

namespace NanoLlm.Model.Layers;

/// <summary>
/// Multi-head causal self-attention (Vaswani et al. 2017, as nanoGPT writes it): one Linear makes Q, K and V for all
/// heads (<c>{prefix}.c_attn</c>, [3C, C]); each head of size D = C/H attends with softmax(Q·Kᵀ/√D) over positions
/// up to its own, never the future; the heads' outputs, side by side, go through <c>{prefix}.c_proj</c> [C, C].
/// One head is H = 1: the same code. Options: queries and keys RMS-normalized per head (QK-norm, as modded-nanogpt),
/// then turned by their positions (<see cref="RotaryEmbedding"/>), before their dot products; dropout on the
/// attention weights in training.
/// </summary>
public sealed unsafe partial class CausalSelfAttention
{
    private readonly Parameter _qkvWeight;
    private readonly Parameter _qkvBias;
    private readonly Parameter _projWeight;
    private readonly Parameter _projBias;
    private readonly int _channels;
    private readonly int _heads;
    private readonly int _headSize;
    private readonly float _scale;
    private readonly LayerScratch _scratch;
    private readonly bool _queryKeyNorm;
    private readonly RotaryEmbedding? _rotary;
    private readonly Dropout _dropout;
    private float[] _qkv = [];
    private float[] _probabilities = [];
    private float[] _droppedProbabilities = [];
    private float[] _queryKeyRstd = [];
    private float[] _headOutputs = [];

    /// <param name="scratch">Shared with the model's other layers; a layer of its own without one.</param>
    /// <param name="queryKeyNorm">RMS-normalize each head's query and key (no gain) before the dot product.</param>
    /// <param name="rotary">Turn each head's query and key by its position; null: no rotation.</param>
    /// <param name="dropout">The rate of dropout on the attention weights in training.</param>
    public CausalSelfAttention(
        ParameterSet parameters, string prefix, int heads, LayerScratch? scratch = null, bool queryKeyNorm = false, RotaryEmbedding? rotary = null,
        float dropout = 0f)
    {
        _scratch = scratch ?? new LayerScratch();
        _qkvWeight = parameters[$"{prefix}.c_attn.weight"];
        _qkvBias = parameters[$"{prefix}.c_attn.bias"];
        _projWeight = parameters[$"{prefix}.c_proj.weight"];
        _projBias = parameters[$"{prefix}.c_proj.bias"];
        _channels = _projWeight.Shape[0];
        _heads = heads;
        _headSize = _channels / heads;
        _scale = 1f / MathF.Sqrt(_headSize);
        _queryKeyNorm = queryKeyNorm;
        _rotary = rotary;
        _dropout = new Dropout(dropout);
    }

    public static IEnumerable<ParameterSpec> Specs(string prefix, int channels) =>
    [
        new($"{prefix}.c_attn.weight", [3 * channels, channels], Decay: true) { StackedMatrices = 3 },
        new($"{prefix}.c_attn.bias", [3 * channels], Decay: false),
        new($"{prefix}.c_proj.weight", [channels, channels], Decay: true),
        new($"{prefix}.c_proj.bias", [channels], Decay: false),
    ];

    public Parameter InputProjection => _qkvWeight;

    public int Heads => _heads;

    /// <summary>The output projection, whose initial scale the model sets for the depth of the residual stream.</summary>
    public Parameter OutputProjection => _projWeight;

    public void EnsureCapacity(int batchSize, int length)
    {
        var rows = batchSize * length;
        var scores = batchSize * _heads * length * length;
        if (_qkv.Length < rows * 3 * _channels || _probabilities.Length < scores)
        {
            _qkv = new float[rows * 3 * _channels];
            _headOutputs = new float[rows * _channels];
            _probabilities = new float[scores];
            _droppedProbabilities = _dropout.Rate > 0 ? new float[scores] : [];
            _queryKeyRstd = _queryKeyNorm ? new float[rows * 2 * _heads] : [];
        }
        _scratch.Reserve(ScratchBuffer.QkvGrads, rows * 3 * _channels);
        _scratch.Reserve(ScratchBuffer.HeadOutputGrads, rows * _channels);
        _scratch.Reserve(ScratchBuffer.ScoreGrads, scores);
    }

    // [q|k|v] = x·W_attnᵀ + b;  q, k ← Rotate_t(RMSNorm(q)), Rotate_t(RMSNorm(k)) per head (each if asked);
    // P[b,h] = causal softmax(Q·Kᵀ/√D);  O[b,h] = Dropout(P)·V;  y = O·W_projᵀ + b_proj
    public void Forward(Span<float> y, ReadOnlySpan<float> x, int batchSize, int length, bool training = false, int seed = 0, long stream = 0)
    {
        var (c, t, d) = (_channels, length, _headSize);
        var rows = batchSize * length;
        var qkv = _qkv.AsSpan(0, rows * 3 * c);
        var probabilities = _probabilities.AsSpan(0, batchSize * _heads * t * t);
        var (qkvLayout, transposedKeys, square, heads) = Layouts(t);

        Linear.Forward(qkv, x, _qkvWeight, _qkvBias, rows);
        TransformQueryKeys(batchSize, length);
        if (_dropout.Rate == 0 || !training)
        {
            // Scores, softmax and weighted values in one pass per (batch, head): the same numbers as the three calls below.
            _dropout.Forward([], training: false, seed, stream);
            CausalAttention.Forward(probabilities, _headOutputs.AsSpan(0, rows * c), qkv, batchSize, _heads, t, d, _scale);
        }
        else
        {
            // S = Q·Kᵀ/√D, then each row t keeps columns 0..t: the causal mask. Tiles of S wholly above the diagonal are
            // not computed, and the product with P, zero above it, sums over the positions a row can see.
            MatMul.Batched(probabilities, square, qkv, qkvLayout, qkv[c..], transposedKeys, batchSize, _heads, t, d, t, _scale, mask: CausalMask.LowerOutput);
            Softmax.CausalForward(probabilities, batchSize * _heads, t);
            var weights = DroppedWeights(probabilities, seed, stream);
            MatMul.Batched(_headOutputs.AsSpan(0, rows * c), heads, weights, square, qkv[(2 * c)..], qkvLayout, batchSize, _heads, t, t, d, mask: CausalMask.LowerA);
        }
        Linear.Forward(y, _headOutputs, _projWeight, _projBias, rows);
    }

    // dO = dy·W_proj;  dP̃ = dO·Vᵀ;  dV = P̃ᵀ·dO;  dP = dP̃⊙mask (P̃ = P with dropout, else dP = dP̃);  dS = P⊙(dP − rowsum(dP⊙P));
    // dQ = dS·K/√D;  dK = dSᵀ·Q/√D;  back through the rotation and QK-norm;  dx += d[q|k|v]·W_attn (dx = … without accumulate)
    public void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int batchSize, int length, bool accumulate = true)
    {
        var (c, t, d) = (_channels, length, _headSize);
        var rows = batchSize * length;
        var qkv = _qkv.AsSpan(0, rows * 3 * c);
        var qkvGrads = _scratch.Get(ScratchBuffer.QkvGrads, rows * 3 * c);
        var scoreCount = batchSize * _heads * t * t;
        var probabilities = _probabilities.AsSpan(0, scoreCount);
        var scoreGrads = _scratch.Get(ScratchBuffer.ScoreGrads, scoreCount);
        var headOutputGrads = _scratch.Get(ScratchBuffer.HeadOutputGrads, rows * c);
        var (qkvLayout, transposedKeys, square, heads) = Layouts(t);
        var transposedSquare = square with { Transposed = true };

        Linear.Backward(headOutputGrads, _projWeight, _projBias, dy, _headOutputs, rows, accumulate: false);
        if (!_dropout.Active)
        {
            CausalAttention.Backward(qkvGrads, scoreGrads, headOutputGrads, qkv, probabilities, batchSize, _heads, t, d, _scale);
        }
        else
        {
            MatMul.Batched(scoreGrads, square, headOutputGrads, heads, qkv[(2 * c)..], transposedKeys, batchSize, _heads, t, d, t, mask: CausalMask.LowerOutput);
            MatMul.Batched(qkvGrads[(2 * c)..], qkvLayout, _droppedProbabilities.AsSpan(0, scoreCount), transposedSquare, headOutputGrads, heads, batchSize, _heads, t, t, d, mask: CausalMask.UpperA);
            _dropout.Backward(scoreGrads);
            Softmax.CausalBackward(scoreGrads, probabilities, batchSize * _heads, t);
            MatMul.Batched(qkvGrads, qkvLayout, scoreGrads, square, qkv[c..], qkvLayout, batchSize, _heads, t, t, d, _scale, mask: CausalMask.LowerA);
            MatMul.Batched(qkvGrads[c..], qkvLayout, scoreGrads, transposedSquare, qkv, qkvLayout, batchSize, _heads, t, t, d, _scale, mask: CausalMask.UpperA);
        }
        TransformQueryKeyGrads(batchSize, length);
        Linear.Backward(dx, _qkvWeight, _qkvBias, qkvGrads, x, rows, accumulate);
    }

    /// <summary>
    /// One new position at inference: its key and value join <paramref name="cache"/> at <paramref name="position"/>
    /// and its query attends over positions 0..position, so a token costs one position's work.
    /// </summary>
    public void ForwardOne(Span<float> y, ReadOnlySpan<float> x, KeyValueCache cache, int position, Span<float> scratch)
    {
        var (c, d) = (_channels, _headSize);
        var qkv = scratch[..(3 * c)];
        var scores = scratch.Slice(3 * c, position + 1);
        var output = scratch.Slice((3 * c) + cache.Capacity, c);
        Linear.ForwardRow(qkv, x, _qkvWeight, _qkvBias);
        if (TransformsQueryKey)
        {
            TransformQueryKey(qkv, position);
        }
        qkv.Slice(c, c).CopyTo(cache.Keys.AsSpan(position * c, c));
        qkv.Slice(2 * c, c).CopyTo(cache.Values.AsSpan(position * c, c));

        output.Clear();
        for (var h = 0; h < _heads; h++)
        {
            var query = qkv.Slice(h * d, d);
            for (var j = 0; j <= position; j++)
            {
                scores[j] = ElementWise.Dot(query, cache.Keys.AsSpan((j * c) + (h * d), d)) * _scale;
            }
            Softmax.Forward(scores, scores, 1, position + 1);
            var headOutput = output.Slice(h * d, d);
            for (var j = 0; j <= position; j++)
            {
                ElementWise.Axpy(headOutput, scores[j], cache.Values.AsSpan((j * c) + (h * d), d));
            }
        }
        Linear.ForwardRow(y, output, _projWeight, _projBias);
    }

    /// <summary>The attention weights <c>P[B, H, T, T]</c> of the last <see cref="Forward"/> (kept for backward).</summary>
    public ReadOnlySpan<float> Probabilities(int batchSize, int length) => _probabilities.AsSpan(0, batchSize * _heads * length * length);

    /// <summary>Scratch floats <see cref="ForwardOne"/> needs for a cache of <paramref name="capacity"/> positions.</summary>
    public int ScratchSize(int capacity) => (3 * _channels) + capacity + _channels;

    private bool TransformsQueryKey => _queryKeyNorm || _rotary is not null;

    /// <summary>The queries and keys of the last forward pass's [q|k|v] rows normalized and turned (when asked), in place.</summary>
    internal void TransformQueryKeys(int batchSize, int length)
    {
        if (!TransformsQueryKey)
        {
            return;
        }
        var rows = batchSize * length;
        fixed (float* qkv = _qkv, rstd = _queryKeyRstd, cos = _rotary is null ? [] : _rotary.Cosines, sin = _rotary is null ? [] : _rotary.Sines)
        {
            var job = Transform(qkv, rstd, cos, sin, length);
            ParallelRows.For(rows, 2L * _channels * 4, &TransformRows, &job);
        }
    }

    /// <summary>The queries' and keys' gradients (in the backward pass's [q|k|v] gradient rows) taken back through <see cref="TransformQueryKeys"/>, in place.</summary>
    internal void TransformQueryKeyGrads(int batchSize, int length)
    {
        if (!TransformsQueryKey)
        {
            return;
        }
        var rows = batchSize * length;
        var qkvGrads = _scratch.Get(ScratchBuffer.QkvGrads, rows * 3 * _channels);
        fixed (float* qkv = _qkv, grads = qkvGrads, rstd = _queryKeyRstd, cos = _rotary is null ? [] : _rotary.Cosines, sin = _rotary is null ? [] : _rotary.Sines)
        {
            var job = Transform(qkv, rstd, cos, sin, length);
            job.Grads = grads;
            ParallelRows.For(rows, 2L * _channels * 8, &TransformGradRows, &job);
        }
    }

    // One row at inference, on the calling thread (no rstd kept).
    private void TransformQueryKey(Span<float> row, int position)
    {
        fixed (float* qkv = row, cos = _rotary is null ? [] : _rotary.Cosines, sin = _rotary is null ? [] : _rotary.Sines)
        {
            var job = Transform(qkv, null, cos, sin, position + 1);
            TransformRow(&job, qkv, position, null);
        }
    }

    private QueryKeyTransform Transform(float* qkv, float* rstd, float* cos, float* sin, int length) => new()
    {
        Qkv = qkv,
        Rstd = _queryKeyNorm ? rstd : null,
        Cos = cos,
        Sin = sin,
        Channels = _channels,
        Heads = _heads,
        HeadSize = _headSize,
        Length = length,
        Normalize = _queryKeyNorm,
        Rotate = _rotary is not null,
        Width = KernelSettings.VectorWidth,
    };

    private static void TransformRows(void* context, int first, int last)
    {
        var job = (QueryKeyTransform*)context;
        var width = 3L * job->Channels;
        for (var r = first; r < last; r++)
        {
            TransformRow(job, job->Qkv + (r * width), r % job->Length, job->Rstd == null ? null : job->Rstd + (2L * r * job->Heads));
        }
    }

    // Per head of one [q|k|v] row at position p: q ← Rotate_p(q·rstd_q), rstd_q = 1/√(mean(q²) + ε) (and k alike), keeping
    // each rstd in rstd[part·H + h] when asked
    private static void TransformRow(QueryKeyTransform* job, float* row, int position, float* rstd)
    {
        var (c, d, heads, width) = (job->Channels, job->HeadSize, job->Heads, job->Width);
        var half = d / 2;
        var cos = job->Rotate ? new ReadOnlySpan<float>(job->Cos + ((long)position * half), half) : default;
        var sin = job->Rotate ? new ReadOnlySpan<float>(job->Sin + ((long)position * half), half) : default;
        for (var part = 0; part < 2; part++)
        {
            for (var h = 0; h < heads; h++)
            {
                var head = new Span<float>(row + (part * c) + (h * d), d);
                if (job->Normalize)
                {
                    var scale = 1f / MathF.Sqrt((VectorLoops.Dot(width, head, head) / d) + LayerNorm.DefaultEpsilon);
                    VectorLoops.Map(width, head, head, new ElementWise.ScaleOperator(scale));
                    if (rstd != null)
                    {
                        rstd[(part * heads) + h] = scale;
                    }
                }
                if (job->Rotate)
                {
                    RotaryEmbedding.Turn(head, cos, sin, 1f, width);
                }
            }
        }
    }

    // The gradients of rows back through TransformRow, in place: dq̂ = Rotate_p⁻¹(dq');  q̂ = Rotate_p⁻¹(q');
    // dq = rstd·(dq̂ − q̂·mean(dq̂⊙q̂))   (k alike). Each range of rows has its own copy of q̂ on its stack.
    private static void TransformGradRows(void* context, int first, int last)
    {
        var job = (QueryKeyTransform*)context;
        var (c, d, heads, width) = (job->Channels, job->HeadSize, job->Heads, job->Width);
        var half = d / 2;
        var rowWidth = 3L * c;
        Span<float> normalized = stackalloc float[d];
        for (var r = first; r < last; r++)
        {
            var position = r % job->Length;
            var cos = job->Rotate ? new ReadOnlySpan<float>(job->Cos + ((long)position * half), half) : default;
            var sin = job->Rotate ? new ReadOnlySpan<float>(job->Sin + ((long)position * half), half) : default;
            for (var part = 0; part < 2; part++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var offset = (r * rowWidth) + (part * c) + (h * d);
                    var grad = new Span<float>(job->Grads + offset, d);
                    if (job->Rotate)
                    {
                        RotaryEmbedding.Turn(grad, cos, sin, -1f, width);
                    }
                    if (job->Normalize)
                    {
                        new ReadOnlySpan<float>(job->Qkv + offset, d).CopyTo(normalized);
                        if (job->Rotate)
                        {
                            RotaryEmbedding.Turn(normalized, cos, sin, -1f, width);
                        }
                        var meanGradDotNormalized = VectorLoops.Dot(width, grad, normalized) / d;
                        VectorLoops.Map(width, normalized, grad, grad, new ElementWise.AxpyOperator(-meanGradDotNormalized));
                        VectorLoops.Map(width, grad, grad, new ElementWise.ScaleOperator(job->Rstd[(2L * r * heads) + (part * heads) + h]));
                    }
                }
            }
        }
    }

    // The query/key transform's shapes and buffers for a kernel thread: the [q|k|v] rows (and their gradients), the
    // rstd kept per row and head, and with rotary positions the cosine and sine tables (pinned by the caller).
    private struct QueryKeyTransform
    {
        public float* Qkv;
        public float* Grads;
        public float* Rstd;
        public float* Cos;
        public float* Sin;
        public int Channels;
        public int Heads;
        public int HeadSize;
        public int Length;
        public bool Normalize;
        public bool Rotate;
        public int Width;
    }

    // The weights that multiply V in training with attention dropout: P̃ = Dropout(P) (P itself is kept for the
    // softmax's backward pass).
    private ReadOnlySpan<float> DroppedWeights(Span<float> probabilities, int seed, long stream)
    {
        var dropped = _droppedProbabilities.AsSpan(0, probabilities.Length);
        probabilities.CopyTo(dropped);
        _dropout.Forward(dropped, training: true, seed, stream);
        return dropped;
    }

    // Q, K and V of head h are columns h·D.. of their third of a [B, T, 3C] row; scores are [B, H, T, T].
    private (MatrixLayout Qkv, MatrixLayout TransposedKeys, MatrixLayout Square, MatrixLayout Heads) Layouts(int t)
    {
        var qkv = new MatrixLayout(RowStride: 3 * _channels, BatchStride: t * 3 * _channels, HeadStride: _headSize);
        var square = new MatrixLayout(RowStride: t, BatchStride: _heads * t * t, HeadStride: t * t);
        var heads = new MatrixLayout(RowStride: _channels, BatchStride: t * _channels, HeadStride: _headSize);
        return (qkv, qkv with { Transposed = true }, square, heads);
    }
}

/// <summary>The keys and values of the positions seen so far, one [capacity, C] buffer each, for one attention layer.</summary>
public sealed class KeyValueCache(int capacity, int channels)
{
    public int Capacity { get; } = capacity;

    public float[] Keys { get; } = new float[capacity * channels];

    public float[] Values { get; } = new float[capacity * channels];
}
