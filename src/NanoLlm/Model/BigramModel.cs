using NanoLlm.Config;
using NanoLlm.Tensors;

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
    private float[] _logits = [];
    private float[] _logitGrads = [];
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

    /// <summary>No training-only behaviour here: the same forward pass either way.</summary>
    public bool Training { get; set; }

    /// <summary>Zeros: every next token equally likely, so training starts at a loss of ln V.</summary>
    public void Initialize(Random random) => _table.Values.Clear();

    // logits[b,t,:] = W[inputs[b,t], :];  loss = mean −log softmax(logits)[target]
    public float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length)
    {
        var rows = batchSize * length;
        EnsureCapacity(rows);
        _rows = rows;
        foreach (var token in inputs[..rows])
        {
            CheckToken(token);
        }
        inputs[..rows].CopyTo(_inputs);
        var logits = _logits.AsSpan(0, rows * _vocabSize);
        Embedding.Forward(logits, _table.Values, _inputs.AsSpan(0, rows), _vocabSize);
        return (float)CrossEntropy.ForwardBackward(_logitGrads.AsSpan(0, rows * _vocabSize), logits, targets[..rows], rows, _vocabSize);
    }

    // dW[inputs[i], :] += dlogits[i, :], where dlogits = (softmax(logits) − onehot(target)) / rows
    public void Backward() =>
        Embedding.Backward(_table.Grads, _logitGrads.AsSpan(0, _rows * _vocabSize), _inputs.AsSpan(0, _rows), _vocabSize);

    public IInference StartInference() => new Inference(this);

    private void EnsureCapacity(int rows)
    {
        if (_inputs.Length < rows)
        {
            _inputs = new int[rows];
            _logits = new float[rows * _vocabSize];
            _logitGrads = new float[rows * _vocabSize];
        }
    }

    private int CheckToken(int token) =>
        (uint)token < (uint)_vocabSize ? token : throw new ArgumentOutOfRangeException(nameof(token), token, $"Token {token} is outside the vocabulary of {_vocabSize}.");

    private sealed class Inference(BigramModel model) : IInference
    {
        public ReadOnlySpan<float> Feed(int token) =>
            model._table.Values.Slice(model.CheckToken(token) * model._vocabSize, model._vocabSize);

        public void Reset()
        {
        }
    }
}
