using NanoLlm.Config;

namespace NanoLlm.Model;

/// <summary>
/// The simplest language model: the next token's logits are one row of a V×V table, picked by the current token.
/// It sees one token of context, so it learns which byte (or BPE token) tends to follow which.
/// </summary>
public sealed class BigramModel : ILanguageModel
{
    public const string Name = "bigram";

    private readonly int _vocabSize;
    private readonly Parameter _table;
    private int[] _inputs = [];
    private float[] _probs = [];
    private int[] _targets = [];
    private int _rows;

    public BigramModel(int vocabSize, SettingsSection hyperparameters)
    {
        _vocabSize = vocabSize;
        Spec = new ModelSpec(Name, vocabSize, ContextLength: 1, hyperparameters);
        Parameters = new ParameterSet([new ParameterSpec("token_logits", [vocabSize, vocabSize], Decay: false)]);
        _table = Parameters["token_logits"];
    }

    public ModelSpec Spec { get; }

    public ParameterSet Parameters { get; }

    /// <summary>Zeros: every next token equally likely, so training starts at a loss of ln V.</summary>
    public void Initialize(Random random) => _table.Values.Clear();

    // logits[b,t,:] = W[inputs[b,t], :];  loss = mean −log softmax(logits)[target]
    public float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length)
    {
        var rows = batchSize * length;
        EnsureCapacity(rows);
        _rows = rows;
        inputs[..rows].CopyTo(_inputs);
        targets[..rows].CopyTo(_targets);

        var table = _table.Values;
        double totalLoss = 0;
        for (var i = 0; i < rows; i++)
        {
            var probs = _probs.AsSpan(i * _vocabSize, _vocabSize);
            table.Slice(CheckToken(_inputs[i]) * _vocabSize, _vocabSize).CopyTo(probs);
            Softmax(probs);
            totalLoss -= Math.Log(Math.Max(probs[CheckToken(_targets[i])], float.Epsilon));
        }
        return (float)(totalLoss / rows);
    }

    // dW[inputs[i], :] += (softmax(logits[i]) − onehot(target[i])) / rows
    public void Backward()
    {
        var grads = _table.Grads;
        var scale = 1f / _rows;
        for (var i = 0; i < _rows; i++)
        {
            var probs = _probs.AsSpan(i * _vocabSize, _vocabSize);
            var gradRow = grads.Slice(_inputs[i] * _vocabSize, _vocabSize);
            for (var j = 0; j < _vocabSize; j++)
            {
                gradRow[j] += probs[j] * scale;
            }
            gradRow[_targets[i]] -= scale;
        }
    }

    public IInference StartInference() => new Inference(this);

    private void EnsureCapacity(int rows)
    {
        if (_inputs.Length < rows)
        {
            _inputs = new int[rows];
            _targets = new int[rows];
            _probs = new float[rows * _vocabSize];
        }
    }

    private int CheckToken(int token) =>
        (uint)token < (uint)_vocabSize ? token : throw new ArgumentOutOfRangeException(nameof(token), token, $"Token {token} is outside the vocabulary of {_vocabSize}.");

    // p = exp(x − max x) / Σ exp(x − max x)
    private static void Softmax(Span<float> values)
    {
        var max = float.NegativeInfinity;
        foreach (var value in values)
        {
            max = Math.Max(max, value);
        }
        var sum = 0f;
        for (var j = 0; j < values.Length; j++)
        {
            values[j] = MathF.Exp(values[j] - max);
            sum += values[j];
        }
        var inverse = 1f / sum;
        for (var j = 0; j < values.Length; j++)
        {
            values[j] *= inverse;
        }
    }

    private sealed class Inference(BigramModel model) : IInference
    {
        public ReadOnlySpan<float> Feed(int token) =>
            model._table.Values.Slice(model.CheckToken(token) * model._vocabSize, model._vocabSize);

        public void Reset()
        {
        }
    }
}
