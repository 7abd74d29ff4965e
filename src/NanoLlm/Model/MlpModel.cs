using NanoLlm.Config;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;

namespace NanoLlm.Model;

/// <summary>
/// A multi-layer perceptron over a window of tokens (Bengio et al. 2003; makemore's MLP): the embeddings of the last
/// <c>context_length</c> tokens, concatenated, go through <c>hidden_layers</c> × (Linear + ReLU) and a Linear to V
/// logits. Positions before the start of a window (or of the text) read a padding token that has its own learned
/// embedding, row V of the table, so the model can tell "nothing here yet" from any real token.
/// </summary>
public sealed class MlpModel : ILanguageModel, IActivationInspection
{
    public const string Name = "mlp";

    private readonly int _vocabSize;
    private readonly int _contextLength;
    private readonly int _embeddingSize;
    private readonly int _hiddenSize;
    private readonly Parameter _embedding;
    private readonly Parameter[] _hiddenWeights;
    private readonly Parameter[] _hiddenBiases;
    private readonly Parameter _outputWeight;
    private readonly Parameter _outputBias;
    private Activations _training;

    public MlpModel(int vocabSize, SettingsSection hyperparameters)
    {
        _vocabSize = vocabSize;
        _contextLength = hyperparameters.GetInt("context_length", 8, 1, 4096);
        _embeddingSize = hyperparameters.GetInt("embedding_size", 16, 1, 65_536);
        _hiddenSize = hyperparameters.GetInt("hidden_size", 128, 1, 65_536);
        var hiddenLayers = hyperparameters.GetInt("hidden_layers", 1, 1, 64);
        Spec = new ModelSpec(Name, vocabSize, _contextLength, hyperparameters);

        var specs = new List<ParameterSpec> { new("token_embedding", [vocabSize + 1, _embeddingSize], Decay: false) };
        for (var l = 0; l < hiddenLayers; l++)
        {
            var inputs = l == 0 ? _contextLength * _embeddingSize : _hiddenSize;
            specs.Add(new($"hidden.{l}.weight", [_hiddenSize, inputs], Decay: true));
            specs.Add(new($"hidden.{l}.bias", [_hiddenSize], Decay: false));
        }
        specs.Add(new("output.weight", [vocabSize, _hiddenSize], Decay: true));
        specs.Add(new("output.bias", [vocabSize], Decay: false));
        Parameters = new ParameterSet(specs);

        _embedding = Parameters["token_embedding"];
        _hiddenWeights = [.. Enumerable.Range(0, hiddenLayers).Select(l => Parameters[$"hidden.{l}.weight"])];
        _hiddenBiases = [.. Enumerable.Range(0, hiddenLayers).Select(l => Parameters[$"hidden.{l}.bias"])];
        _outputWeight = Parameters["output.weight"];
        _outputBias = Parameters["output.bias"];
        _training = new Activations(this, 0);
    }

    public ModelSpec Spec { get; }

    public ParameterSet Parameters { get; }

    /// <summary>No training-only behaviour here: the same forward pass either way.</summary>
    public bool Training { get; set; }

    private int PaddingToken => _vocabSize;

    private int InputSize => _contextLength * _embeddingSize;

    /// <summary>
    /// Embeddings N(0, 1); hidden layers Kaiming-normal for ReLU, σ = √(2 / fan_in) (He et al. 2015), so activations
    /// keep their scale through the layers; the output layer σ = 0.01 / √fan_in so the first logits are near zero and
    /// training starts at a loss of about ln V instead of a confident wrong guess; biases zero.
    /// </summary>
    public void Initialize(Random random)
    {
        Parameters.Values.AsSpan().Clear();
        Initialization.Normal(_embedding.Values, 1.0, random);
        foreach (var weight in _hiddenWeights)
        {
            Initialization.Normal(weight.Values, Math.Sqrt(2.0 / weight.Shape[1]), random);
        }
        Initialization.Normal(_outputWeight.Values, 0.01 / Math.Sqrt(_hiddenSize), random);
    }

    public float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length)
    {
        var rows = batchSize * length;
        if (_training.Capacity < rows)
        {
            _training = new Activations(this, rows);
        }
        var activations = _training;
        activations.Rows = rows;
        ContextEmbedding.Contexts(activations.Contexts, inputs, batchSize, length, _contextLength, PaddingToken);
        RunLayers(activations);
        var logitCount = rows * _vocabSize;
        return (float)CrossEntropy.ForwardBackward(
            activations.LogitGrads.AsSpan(0, logitCount), activations.Logits.AsSpan(0, logitCount), targets[..rows], rows, _vocabSize);
    }

    public void Backward()
    {
        var a = _training;
        var rows = a.Rows;
        var last = _hiddenWeights.Length - 1;

        a.HiddenGrads.AsSpan().Clear();
        Linear.Backward(a.HiddenGrads, _outputWeight, _outputBias, a.LogitGrads, a.Hidden[last], rows);
        for (var l = last; l >= 0; l--)
        {
            var preActivationGrads = a.PreActivationGrads.AsSpan(0, rows * _hiddenSize);
            preActivationGrads.Clear();
            Relu.Backward(preActivationGrads, a.PreActivations[l].AsSpan(0, rows * _hiddenSize), a.HiddenGrads.AsSpan(0, rows * _hiddenSize));
            var inputGrads = l == 0 ? a.InputGrads : a.HiddenGrads;
            inputGrads.AsSpan().Clear();
            Linear.Backward(inputGrads, _hiddenWeights[l], _hiddenBiases[l], preActivationGrads, l == 0 ? a.Input : a.Hidden[l - 1], rows);
        }
        ContextEmbedding.Backward(_embedding, a.InputGrads, a.Contexts.AsSpan(0, rows * _contextLength));
    }

    public IInference StartInference() => new Inference(this);

    /// <summary>Each hidden layer's ReLU output (<c>hidden.l.relu</c>) in the last forward; saturated means dead (input ≤ 0).</summary>
    public IReadOnlyList<ActivationStatistics> MeasureActivations() =>
        [.. _training.PreActivations.Select((h, l) => ActivationMeasures.Relu($"hidden.{l}.relu", h.AsSpan(0, _training.Rows * _hiddenSize)))];

    // x = concat(E[context]);  hₗ = ReLU(hₗ₋₁·Wₗᵀ + bₗ);  logits = h_L·W_outᵀ + b_out
    private void RunLayers(Activations a)
    {
        var rows = a.Rows;
        ContextEmbedding.Forward(a.Input, _embedding, a.Contexts.AsSpan(0, rows * _contextLength));
        for (var l = 0; l < _hiddenWeights.Length; l++)
        {
            Linear.Forward(a.PreActivations[l], l == 0 ? a.Input : a.Hidden[l - 1], _hiddenWeights[l], _hiddenBiases[l], rows);
            Relu.Forward(a.Hidden[l].AsSpan(0, rows * _hiddenSize), a.PreActivations[l].AsSpan(0, rows * _hiddenSize));
        }
        Linear.Forward(a.Logits, a.Hidden[^1], _outputWeight, _outputBias, rows);
    }

    /// <summary>Every buffer one forward and backward pass needs, for up to <see cref="Capacity"/> rows, allocated once.</summary>
    private sealed class Activations
    {
        public Activations(MlpModel model, int capacity)
        {
            Capacity = capacity;
            var layers = model._hiddenWeights.Length;
            Contexts = new int[capacity * model._contextLength];
            Input = new float[capacity * model.InputSize];
            InputGrads = new float[capacity * model.InputSize];
            PreActivations = [.. Enumerable.Range(0, layers).Select(_ => new float[capacity * model._hiddenSize])];
            Hidden = [.. Enumerable.Range(0, layers).Select(_ => new float[capacity * model._hiddenSize])];
            PreActivationGrads = new float[capacity * model._hiddenSize];
            HiddenGrads = new float[capacity * model._hiddenSize];
            Logits = new float[capacity * model._vocabSize];
            LogitGrads = new float[capacity * model._vocabSize];
        }

        public int Capacity { get; }
        public int Rows { get; set; }
        public int[] Contexts { get; }
        public float[] Input { get; }
        public float[] InputGrads { get; }
        public float[][] PreActivations { get; }
        public float[][] Hidden { get; }
        public float[] PreActivationGrads { get; }
        public float[] HiddenGrads { get; }
        public float[] Logits { get; }
        public float[] LogitGrads { get; }
    }

    /// <summary>Keeps the last N tokens (padding before the first) and runs the layers for one position.</summary>
    private sealed class Inference : IInference
    {
        private readonly MlpModel _model;
        private readonly Activations _activations;

        public Inference(MlpModel model)
        {
            _model = model;
            _activations = new Activations(model, 1) { Rows = 1 };
            Reset();
        }

        public ReadOnlySpan<float> Feed(int token)
        {
            if ((uint)token >= (uint)_model._vocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(token), token, $"Token {token} is outside the vocabulary of {_model._vocabSize}.");
            }
            var context = _activations.Contexts.AsSpan();
            context[1..].CopyTo(context);
            context[^1] = token;
            _model.RunLayers(_activations);
            return _activations.Logits;
        }

        public void Reset() => _activations.Contexts.AsSpan().Fill(_model.PaddingToken);
    }
}
