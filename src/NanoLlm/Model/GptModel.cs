using NanoLlm.Config;
using NanoLlm.Model.Layers;
using NanoLlm.Tensors;

namespace NanoLlm.Model;

/// <summary>
/// A GPT (Radford et al. 2018/2019, as nanoGPT builds it): token embeddings plus positional encodings, <c>layers</c>
/// pre-norm transformer blocks of causal multi-head self-attention and a GELU feed-forward network, a final
/// LayerNorm, and a linear head to V logits (or, with <c>tie_embeddings</c>, the token embedding itself). Options from
/// the models trained today, each off by default: rotary positions instead of a table (<c>positional = "rope"</c>),
/// RMSNorm (<c>norm</c>), a SwiGLU or ReLU² feed-forward (<c>activation</c>), QK-norm (<c>qk_norm</c>) and dropout on
/// the attention weights (<c>attention_dropout</c>).
/// </summary>
public sealed partial class GptModel : ILanguageModel
{
    public const string Name = "gpt";
    public const string Sinusoidal = "sinusoidal";
    public const string Learned = "learned";
    public const string Rope = "rope";
    public const string LayerNorm = "layernorm";
    public const string RmsNorm = "rmsnorm";
    public const string Gelu = "gelu";
    public const string SwiGlu = "swiglu";
    public const string ReluSquared = "relu2";

    private readonly int _vocabSize;
    private readonly int _contextLength;
    private readonly int _channels;
    private readonly Parameter _tokenEmbedding;
    private readonly Parameter? _positionEmbedding;
    private readonly float[] _sinusoids = [];
    private readonly float _embeddingScale = 1f;
    private readonly bool _rotary;
    private readonly TransformerBlock[] _blocks;
    private readonly INormalization _finalNorm;
    private readonly Parameter _head;
    private readonly Dropout _embeddingDropout;
    private int _dropoutSeed;
    private int _batchSize;
    private int _length;
    private int _capacityRows;
    private int[] _inputs = [];
    private float[][] _residuals = [];
    private float[] _finalNormOutput = [];
    private float[] _logits = [];
    private float[] _logitGrads = [];
    private float[] _finalNormGrads = [];
    private float[] _residualGrads = [];

    public GptModel(int vocabSize, SettingsSection hyperparameters)
    {
        _vocabSize = vocabSize;
        _contextLength = hyperparameters.GetInt("context_length", 64, 1, 8192);
        _channels = hyperparameters.GetInt("embedding_size", 128, 1, 16_384);
        var layers = hyperparameters.GetInt("layers", 4, 1, 256);
        var heads = hyperparameters.GetInt("heads", 4, 1, 1024);
        var feedForwardRatio = hyperparameters.GetInt("ffn_ratio", 4, 1, 64);
        var positional = hyperparameters.GetChoice("positional", Sinusoidal, Sinusoidal, Learned, Rope);
        var tied = hyperparameters.GetBool("tie_embeddings", false);
        var dropout = (float)hyperparameters.GetDouble("dropout", 0, 0, 0.9);
        var attentionDropout = (float)hyperparameters.GetDouble("attention_dropout", 0, 0, 0.9);
        var norm = hyperparameters.GetChoice("norm", LayerNorm, LayerNorm, RmsNorm) == RmsNorm ? NormalizationKind.RmsNorm : NormalizationKind.LayerNorm;
        var activation = hyperparameters.GetChoice("activation", Gelu, Gelu, SwiGlu, ReluSquared) switch
        {
            SwiGlu => Activation.SwiGlu,
            ReluSquared => Activation.ReluSquared,
            _ => Activation.Gelu,
        };
        var queryKeyNorm = hyperparameters.GetBool("qk_norm", false);
        if (_channels % heads != 0)
        {
            throw new ConfigException(
                $"{hyperparameters.OriginOf("heads")}: [model] heads: {heads} does not divide embedding_size {_channels}: pick heads so that embedding_size / heads is whole");
        }
        _rotary = positional == Rope;
        var rotary = _rotary ? CreateRotary(hyperparameters, _contextLength, _channels / heads) : null;
        if (!_rotary && hyperparameters.Contains("rope_base"))
        {
            throw new ConfigException(
                $"{hyperparameters.OriginOf("rope_base")}: [model] rope_base: only rotary positions have a base, and positional is \"{positional}\": set positional = \"rope\" or remove rope_base");
        }
        Spec = new ModelSpec(Name, vocabSize, _contextLength, hyperparameters);

        // SwiGLU has three matrices to the others' two: 2/3 of the width keeps the parameter count (Llama's choice).
        var feedForwardSize = activation == Activation.SwiGlu ? Math.Max(1, (int)Math.Round(2.0 * feedForwardRatio * _channels / 3)) : feedForwardRatio * _channels;
        var options = new BlockOptions(norm, activation, rotary, queryKeyNorm, attentionDropout);
        var specs = new List<ParameterSpec> { new("wte", [vocabSize, _channels], Decay: false) };
        if (positional == Learned)
        {
            specs.Add(new("wpe", [_contextLength, _channels], Decay: false));
        }
        for (var l = 0; l < layers; l++)
        {
            // Every matrix inside a block is a hidden matrix (what Muon orthogonalises); its gains and biases are not.
            specs.AddRange(TransformerBlock.Specs($"h.{l}", _channels, feedForwardSize, options).Select(s => s.Shape.Length == 2 ? s with { HiddenMatrix = true } : s));
        }
        specs.AddRange(Normalization.Specs(norm, "ln_f", _channels));
        if (!tied)
        {
            specs.Add(new("lm_head.weight", [vocabSize, _channels], Decay: true));
        }
        Parameters = new ParameterSet(specs);

        _tokenEmbedding = Parameters["wte"];
        if (positional == Learned)
        {
            _positionEmbedding = Parameters["wpe"];
        }
        else if (positional == Sinusoidal)
        {
            _sinusoids = SinusoidalTable(_contextLength, _channels);
            _embeddingScale = MathF.Sqrt(_channels);
        }
        var scratch = new LayerScratch();
        _blocks = [.. Enumerable.Range(0, layers).Select(l => new TransformerBlock(Parameters, $"h.{l}", heads, dropout, scratch, options))];
        _embeddingDropout = new Dropout(dropout);
        _finalNorm = Normalization.Create(norm, Parameters, "ln_f");
        _head = tied ? _tokenEmbedding : Parameters["lm_head.weight"];
    }

    public ModelSpec Spec { get; }

    public ParameterSet Parameters { get; }

    /// <summary>Turns dropout on (the <c>dropout</c> key; 0 by default) for training forward passes.</summary>
    public bool Training { get; set; }

    /// <summary>The logits <c>[B, T, V]</c> of the last <see cref="Forward"/>.</summary>
    public ReadOnlySpan<float> Logits => _logits.AsSpan(0, _batchSize * _length * _vocabSize);

    /// <summary>
    /// nanoGPT's scheme: every weight matrix and embedding N(0, 0.02²); the projections that write into the residual
    /// stream (attention's and the FFN's <c>c_proj</c>) N(0, (0.02/√(2·layers))²) so the stream's variance does not
    /// grow with depth; biases 0; LayerNorm (or RMSNorm) γ = 1, β = 0. With sinusoidal positions the token embedding
    /// follows the original transformer instead: N(0, 1/C), multiplied by √C on the way in, so tokens and the fixed
    /// sinusoids (amplitude 1) enter the stream at the same scale; at 0.02 the sinusoids would drown the tokens.
    /// </summary>
    public void Initialize(Random random)
    {
        const double std = 0.02;
        Parameters.Values.AsSpan().Clear();
        Initialization.Normal(_tokenEmbedding.Values, _embeddingScale != 1f ? 1 / Math.Sqrt(_channels) : std, random);
        if (_positionEmbedding is not null)
        {
            Initialization.Normal(_positionEmbedding.Values, std, random);
        }
        var projectionStd = std / Math.Sqrt(2.0 * _blocks.Length);
        foreach (var block in _blocks)
        {
            block.FirstNorm.Initialize();
            Initialization.Normal(block.Attention.InputProjection.Values, std, random);
            Initialization.Normal(block.Attention.OutputProjection.Values, projectionStd, random);
            block.SecondNorm.Initialize();
            Initialization.Normal(block.FeedForward.InputProjection.Values, std, random);
            Initialization.Normal(block.FeedForward.OutputProjection.Values, projectionStd, random);
        }
        _finalNorm.Initialize();
        if (_head != _tokenEmbedding)
        {
            Initialization.Normal(_head.Values, std, random);
        }
        _dropoutSeed = random.Next();
    }

    // x₀ = s·wte[token] + position(t) (no position with rotary ones);  x_{l+1} = Block_l(x_l);  logits = LN_f(x_L)·W_headᵀ;
    // loss = CE(logits, targets)
    public float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length)
    {
        if (length > _contextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The model sees at most {_contextLength} positions.");
        }
        var rows = batchSize * length;
        EnsureCapacity(batchSize, length);
        (_batchSize, _length) = (batchSize, length);
        foreach (var token in inputs[..rows])
        {
            CheckToken(token);
        }
        inputs[..rows].CopyTo(_inputs);

        Embed(_residuals[0], _inputs.AsSpan(0, rows), batchSize, length);
        // Dropout masks come from the seed and the batch itself, so a batch always gets the same masks (and a resumed
        // run the same as an uninterrupted one); each site takes its own stream.
        var stream = Training ? BatchHash(_inputs.AsSpan(0, rows)) : 0;
        _embeddingDropout.Forward(_residuals[0].AsSpan(0, rows * _channels), Training, _dropoutSeed, stream);
        for (var l = 0; l < _blocks.Length; l++)
        {
            _blocks[l].Forward(_residuals[l + 1], _residuals[l], batchSize, length, Training, _dropoutSeed, stream + (2 * (l + 1)));
        }
        _finalNorm.Forward(_finalNormOutput, _residuals[^1], rows);
        var logits = _logits.AsSpan(0, rows * _vocabSize);
        Linear.Forward(logits, _finalNormOutput, _head, null, rows);
        return (float)CrossEntropy.ForwardBackward(_logitGrads.AsSpan(0, rows * _vocabSize), logits, targets[..rows], rows, _vocabSize);
    }

    public void Backward()
    {
        var (batchSize, length) = (_batchSize, _length);
        var rows = batchSize * length;
        var size = rows * _channels;
        var finalNormGrads = _finalNormGrads.AsSpan(0, size);
        var residualGrads = _residualGrads.AsSpan(0, size);

        Linear.Backward(finalNormGrads, _head, null, _logitGrads.AsSpan(0, rows * _vocabSize), _finalNormOutput, rows, accumulate: false);
        residualGrads.Clear();
        _finalNorm.Backward(residualGrads, finalNormGrads, _residuals[^1], rows);
        for (var l = _blocks.Length - 1; l >= 0; l--)
        {
            _blocks[l].Backward(residualGrads, _residuals[l], batchSize, length);
        }

        _embeddingDropout.Backward(residualGrads);
        // dwte[token] += s·dx₀ (s = √C with sinusoids, else 1);  dwpe[t] += Σ_b dx₀[b, t]
        if (_embeddingScale != 1f)
        {
            ElementWise.Scale(residualGrads, _embeddingScale);
        }
        Embedding.Backward(_tokenEmbedding.Grads, residualGrads, _inputs.AsSpan(0, rows), _channels);
        if (_positionEmbedding is not null)
        {
            var positionGrads = _positionEmbedding.Grads;
            for (var b = 0; b < batchSize; b++)
            {
                ElementWise.Add(positionGrads[..(length * _channels)], residualGrads.Slice(b * length * _channels, length * _channels));
            }
        }
    }

    public IInference StartInference() => new Inference(this);

    private void EnsureCapacity(int batchSize, int length)
    {
        foreach (var block in _blocks)
        {
            block.EnsureCapacity(batchSize, length);
        }
        _finalNorm.EnsureCapacity(batchSize * length);
        var rows = batchSize * length;
        if (_capacityRows < rows)
        {
            _capacityRows = rows;
            _inputs = new int[rows];
            _residuals = new float[_blocks.Length + 1][];
            for (var l = 0; l < _residuals.Length; l++)
            {
                // A loop, not a lambda: a closure over rows would be allocated on every call, growing or not.
                _residuals[l] = new float[rows * _channels];
            }
            _finalNormOutput = new float[rows * _channels];
            _finalNormGrads = new float[rows * _channels];
            _residualGrads = new float[rows * _channels];
            _logits = new float[rows * _vocabSize];
            _logitGrads = new float[rows * _vocabSize];
        }
    }

    // x[b, t] = s·wte[tokens[b, t]] + position(t)
    private void Embed(Span<float> x, ReadOnlySpan<int> tokens, int batchSize, int length)
    {
        var c = _channels;
        Embedding.Forward(x[..(tokens.Length * c)], _tokenEmbedding.Values, tokens, c);
        if (_embeddingScale != 1f)
        {
            ElementWise.Scale(x[..(tokens.Length * c)], _embeddingScale);
        }
        if (_rotary)
        {
            return;
        }
        for (var b = 0; b < batchSize; b++)
        {
            ElementWise.Add(x.Slice(b * length * c, length * c), PositionTable[..(length * c)]);
        }
    }

    // The table added to the token embeddings: learned, sinusoidal, or none (rotary positions act inside attention).
    private ReadOnlySpan<float> PositionTable => _positionEmbedding is null ? _sinusoids : _positionEmbedding.Values;

    // x = s·wte[token] + position(p), one row at inference
    private void EmbedOne(Span<float> x, int token, int position)
    {
        var c = _channels;
        _tokenEmbedding.Values.Slice(token * c, c).CopyTo(x);
        ElementWise.Scale(x, _embeddingScale);
        if (!_rotary)
        {
            ElementWise.Add(x, PositionTable.Slice(position * c, c));
        }
    }

    private static RotaryEmbedding CreateRotary(SettingsSection hyperparameters, int contextLength, int headSize)
    {
        var @base = hyperparameters.GetDouble("rope_base", RotaryEmbedding.DefaultBase, 1, 1e9, minExclusive: true);
        if (headSize % 2 != 0)
        {
            throw new ConfigException(
                $"{hyperparameters.OriginOf("heads")}: [model] heads: rotary positions turn pairs of a head's values, and embedding_size / heads = {headSize} is odd: pick heads so that it is even");
        }
        return new RotaryEmbedding(contextLength, headSize, @base);
    }

    // FNV-1a over the batch's tokens, shifted so the sites' streams (hash + 0, 2, 3, 4 …) never collide across batches.
    private static long BatchHash(ReadOnlySpan<int> tokens)
    {
        var hash = 14695981039346656037UL;
        foreach (var token in tokens)
        {
            hash = (hash ^ (uint)token) * 1099511628211UL;
        }
        return (long)(hash << 16);
    }

    // PE[p, 2i] = sin(p / 10000^(2i/C)),  PE[p, 2i+1] = cos(p / 10000^(2i/C))   (Vaswani et al. 2017, §3.5)
    private static float[] SinusoidalTable(int positions, int channels)
    {
        var table = new float[positions * channels];
        for (var p = 0; p < positions; p++)
        {
            for (var i = 0; i < channels; i++)
            {
                var angle = p / Math.Pow(10_000, (i - (i % 2)) / (double)channels);
                table[(p * channels) + i] = (float)(i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
            }
        }
        return table;
    }

    private int CheckToken(int token) =>
        (uint)token < (uint)_vocabSize ? token : throw new ArgumentOutOfRangeException(nameof(token), token, $"Token {token} is outside the vocabulary of {_vocabSize}.");

    /// <summary>
    /// Generation with a key/value cache per block: each new token runs one position through the model. When the
    /// context is full, the cache restarts from the last half of the window (those tokens are run again), so the model
    /// always sees between C/2 and C tokens and a token costs two positions' work on average, not a whole window.
    /// </summary>
    private sealed class Inference : IInference
    {
        private readonly GptModel _model;
        private readonly KeyValueCache[] _caches;
        private readonly int[] _tokens;
        private readonly float[] _x;
        private readonly float[] _normalized;
        private readonly float[] _logits;
        private readonly float[] _scratch;
        private int _count;

        public Inference(GptModel model)
        {
            _model = model;
            var (t, c) = (model._contextLength, model._channels);
            _caches = [.. model._blocks.Select(_ => new KeyValueCache(t, c))];
            _tokens = new int[t];
            _x = new float[c];
            _normalized = new float[c];
            _logits = new float[model._vocabSize];
            _scratch = new float[model._blocks.Max(b => b.ScratchSize(t))];
        }

        public ReadOnlySpan<float> Feed(int token)
        {
            _model.CheckToken(token);
            if (_count == _model._contextLength)
            {
                var keep = _model._contextLength / 2;
                _tokens.AsSpan(_count - keep, keep).CopyTo(_tokens);
                _count = 0;
                for (var i = 0; i < keep; i++)
                {
                    Run(_tokens[i]);
                }
            }
            Run(token);
            _model._finalNorm.ForwardOne(_normalized, _x);
            Linear.ForwardRow(_logits, _normalized, _model._head, null);
            return _logits;
        }

        public void Reset() => _count = 0;

        private void Run(int token)
        {
            var (model, position) = (_model, _count);
            model.EmbedOne(_x, token, position);
            for (var l = 0; l < model._blocks.Length; l++)
            {
                model._blocks[l].ForwardOne(_x, _caches[l], position, _scratch);
            }
            _tokens[position] = token;
            _count++;
        }
    }
}
