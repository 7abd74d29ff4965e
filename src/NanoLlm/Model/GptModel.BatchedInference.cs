using NanoLlm.Model.Layers;
using NanoLlm.Tensors;

namespace NanoLlm.Model;

public sealed partial class GptModel
{
    /// <summary>
    /// Up to <paramref name="slots"/> sequences with a key/value cache each, whose new tokens run through the model as
    /// one batch: the projections, the feed-forward network and the head are matrix products over all rows (the weights
    /// are read once a step, not once a sequence), attention runs row by row over each row's own cache. The weights are
    /// packed for the products once, here: a snapshot of the model as it is now, for inference.
    /// </summary>
    public IBatchedInference StartBatchedInference(int slots) => new BatchedInference(this, slots);

    /// <summary>
    /// Each slot keeps its context as <see cref="Inference"/> does (restarting from the last half of the window when
    /// full). A row's numbers do not depend on the other rows: the products compute every element of a row the same
    /// way whatever the number of rows (<see cref="MatMul.ForwardPacked"/>), and everything else is row by row.
    /// </summary>
    private sealed class BatchedInference : IBatchedInference
    {
        private readonly GptModel _model;
        private readonly int _maxRows;
        private readonly KeyValueCache[][] _caches;
        private readonly int[][] _tokens;
        private readonly int[] _counts;
        private readonly bool[] _inBatch;
        private readonly (PackedMatrix Input, PackedMatrix Output)[] _attention;
        private readonly (PackedMatrix Input, PackedMatrix Output)[] _feedForward;
        private readonly PackedMatrix _head;

        // The rows of the batch being built: slot, position, token, and which logits output they fill (−1: none).
        private readonly int[] _rowSlots;
        private readonly int[] _rowPositions;
        private readonly int[] _rowTokens;
        private readonly int[] _rowOutputs;
        private readonly KeyValueCache[] _rowCaches;
        private int _rows;

        // x[R,C], LayerNorm outputs [R,C], a branch's output [R,C], qkv[R,3C], head outputs [R,C], FFN hidden [R,H],
        // one row's attention scores [T], the final rows gathered [R,C] and their logits [R,V].
        private readonly float[] _x;
        private readonly float[] _normalized;
        private readonly float[] _branch;
        private readonly float[] _qkv;
        private readonly float[] _headOutputs;
        private readonly float[] _hidden;
        private readonly float[] _scores;
        private readonly float[] _gathered;
        private readonly int[] _gatheredOutputs;
        private readonly float[] _logits;

        public BatchedInference(GptModel model, int slots)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
            _model = model;
            var (t, c, v) = (model._contextLength, model._channels, model._vocabSize);
            var hidden = model._blocks[0].FeedForward.RowsScratchSize(1);
            // Room for every slot's next token plus one whole window (a new sequence's prompt) in one step.
            _maxRows = slots + t;
            _caches = [.. Enumerable.Range(0, slots).Select(_ => model._blocks.Select(_ => new KeyValueCache(t, c)).ToArray())];
            _tokens = [.. Enumerable.Range(0, slots).Select(_ => new int[t])];
            _counts = new int[slots];
            _inBatch = new bool[slots];
            _attention = [.. model._blocks.Select(b => b.Attention.PackProjections())];
            _feedForward = [.. model._blocks.Select(b => b.FeedForward.PackProjections())];
            _head = Linear.Pack(model._head);
            _rowSlots = new int[_maxRows];
            _rowPositions = new int[_maxRows];
            _rowTokens = new int[_maxRows];
            _rowOutputs = new int[_maxRows];
            _rowCaches = new KeyValueCache[_maxRows];
            _x = new float[_maxRows * c];
            _normalized = new float[_maxRows * c];
            _branch = new float[_maxRows * c];
            _qkv = new float[_maxRows * 3 * c];
            _headOutputs = new float[_maxRows * c];
            _hidden = new float[_maxRows * hidden];
            _scores = new float[t];
            _gathered = new float[_maxRows * c];
            _gatheredOutputs = new int[_maxRows];
            _logits = new float[_maxRows * v];
        }

        public int Slots => _counts.Length;

        public void Reset(int slot) => _counts[slot] = 0;

        public void Forward(ReadOnlySpan<BatchRow> rows, Span<float> logits)
        {
            var t = _model._contextLength;
            var output = 0;
            foreach (var row in rows)
            {
                _model.CheckToken(row.Token);
                var slot = row.Slot;
                if (_counts[slot] == t)
                {
                    // The restart rewrites positions 0..keep of the cache, which this slot's rows already in the batch
                    // still read: they run first.
                    if (_inBatch[slot])
                    {
                        Run(logits);
                    }
                    var keep = t / 2;
                    _tokens[slot].AsSpan(t - keep, keep).CopyTo(_tokens[slot]);
                    _counts[slot] = 0;
                    for (var i = 0; i < keep; i++)
                    {
                        Add(slot, _tokens[slot][i], -1, logits);
                    }
                }
                Add(slot, row.Token, row.WantsLogits ? output++ : -1, logits);
            }
            Run(logits);
        }

        private void Add(int slot, int token, int output, Span<float> logits)
        {
            if (_rows == _maxRows)
            {
                Run(logits);
            }
            var position = _counts[slot]++;
            _tokens[slot][position] = token;
            (_rowSlots[_rows], _rowPositions[_rows], _rowTokens[_rows], _rowOutputs[_rows]) = (slot, position, token, output);
            _inBatch[slot] = true;
            _rows++;
        }

        // x₀ = s·wte[token] + position(t) per row;  x_{l+1} = Block_l(x_l) over all rows;  logits = LN_f(x_L)·W_headᵀ
        // for the rows that want them
        private void Run(Span<float> logits)
        {
            var (model, n, c, v) = (_model, _rows, _model._channels, _model._vocabSize);
            if (n == 0)
            {
                return;
            }
            for (var i = 0; i < n; i++)
            {
                model.EmbedOne(_x.AsSpan(i * c, c), _rowTokens[i], _rowPositions[i]);
            }

            var all = _x.AsSpan(0, n * c);
            var normalized = _normalized.AsSpan(0, n * c);
            var branch = _branch.AsSpan(0, n * c);
            for (var l = 0; l < model._blocks.Length; l++)
            {
                var block = model._blocks[l];
                for (var i = 0; i < n; i++)
                {
                    _rowCaches[i] = _caches[_rowSlots[i]][l];
                    block.FirstNorm.ForwardOne(normalized.Slice(i * c, c), all.Slice(i * c, c));
                }
                block.Attention.ForwardRows(branch, normalized, n, _attention[l], _rowCaches.AsSpan(0, n), _rowPositions.AsSpan(0, n), _qkv, _headOutputs, _scores);
                ElementWise.Add(all, branch);
                for (var i = 0; i < n; i++)
                {
                    block.SecondNorm.ForwardOne(normalized.Slice(i * c, c), all.Slice(i * c, c));
                }
                block.FeedForward.ForwardRows(branch, normalized, n, _feedForward[l], _hidden);
                ElementWise.Add(all, branch);
            }

            var wanted = 0;
            for (var i = 0; i < n; i++)
            {
                if (_rowOutputs[i] >= 0)
                {
                    model._finalNorm.ForwardOne(_gathered.AsSpan(wanted * c, c), all.Slice(i * c, c));
                    _gatheredOutputs[wanted++] = _rowOutputs[i];
                }
            }
            if (wanted > 0)
            {
                Linear.ForwardRows(_logits, _gathered, _head, null, wanted);
                for (var j = 0; j < wanted; j++)
                {
                    _logits.AsSpan(j * v, v).CopyTo(logits.Slice(_gatheredOutputs[j] * v, v));
                }
            }
            Array.Clear(_inBatch);
            _rows = 0;
        }
    }
}
