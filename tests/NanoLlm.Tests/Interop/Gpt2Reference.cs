using System.Globalization;
using NanoLlm.Storage;

namespace NanoLlm.Tests.Interop;

/// <summary>
/// A small random GPT-2 in Hugging Face's documented layout (modeling_gpt2.py: names without the <c>transformer.</c>
/// prefix here, Conv1D weights [in, out] with y = x·W + b, the head tied to wte) and a naive forward pass over those
/// tensors in double precision: the oracle the importers are checked against, written from the documented layout and
/// not from NanoLlm's code.
/// </summary>
public sealed class Gpt2Reference
{
    public Gpt2Reference(int layers = 2, int heads = 2, int channels = 8, int positions = 12, int vocabSize = 300, int seed = 5)
    {
        (Layers, Heads, Channels, Positions, VocabSize) = (layers, heads, channels, positions, vocabSize);
        var random = new Random(seed);
        float[] Normal(int count, double std, double mean = 0) =>
            [.. Enumerable.Range(0, count).Select(_ => (float)(mean + (std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))))];
        var c = channels;
        Add("wte.weight", [vocabSize, c], Normal(vocabSize * c, 0.3));
        Add("wpe.weight", [positions, c], Normal(positions * c, 0.3));
        for (var l = 0; l < layers; l++)
        {
            Add($"h.{l}.ln_1.weight", [c], Normal(c, 0.1, 1));
            Add($"h.{l}.ln_1.bias", [c], Normal(c, 0.1));
            Add($"h.{l}.attn.c_attn.weight", [c, 3 * c], Normal(3 * c * c, 0.4));
            Add($"h.{l}.attn.c_attn.bias", [3 * c], Normal(3 * c, 0.1));
            Add($"h.{l}.attn.c_proj.weight", [c, c], Normal(c * c, 0.3));
            Add($"h.{l}.attn.c_proj.bias", [c], Normal(c, 0.1));
            Add($"h.{l}.ln_2.weight", [c], Normal(c, 0.1, 1));
            Add($"h.{l}.ln_2.bias", [c], Normal(c, 0.1));
            Add($"h.{l}.mlp.c_fc.weight", [c, 4 * c], Normal(4 * c * c, 0.3));
            Add($"h.{l}.mlp.c_fc.bias", [4 * c], Normal(4 * c, 0.1));
            Add($"h.{l}.mlp.c_proj.weight", [4 * c, c], Normal(4 * c * c, 0.3));
            Add($"h.{l}.mlp.c_proj.bias", [c], Normal(c, 0.1));
        }
        Add("ln_f.weight", [c], Normal(c, 0.1, 1));
        Add("ln_f.bias", [c], Normal(c, 0.1));
    }

    public int Layers { get; }
    public int Heads { get; }
    public int Channels { get; }
    public int Positions { get; }
    public int VocabSize { get; }

    /// <summary>The parameters by Hugging Face name (no prefix), in GPT2Model's order.</summary>
    public List<(string Name, int[] Shape, float[] Values)> Tensors { get; } = [];

    public float[] this[string name] => Tensors.First(t => t.Name == name).Values;

    /// <summary>
    /// Writes <c>config.json</c> and <c>model.safetensors</c> as transformers does, with the causal-mask buffers
    /// (<c>attn.bias</c>, <c>attn.masked_bias</c>) older files carry; <paramref name="prefix"/> is "" or "transformer.",
    /// which <c>lm_head</c> never takes.
    /// </summary>
    public void WriteHuggingFace(string directory, string prefix = "transformer.", string? configOverride = null, bool withBuffers = true)
    {
        Directory.CreateDirectory(directory);
        var tensors = new List<NamedTensor>();
        foreach (var (name, shape, values) in Tensors)
        {
            tensors.Add(new NamedTensor(name.StartsWith("lm_head", StringComparison.Ordinal) ? name : prefix + name, shape, values));
            if (withBuffers && name.EndsWith("attn.c_attn.bias", StringComparison.Ordinal))
            {
                var layer = name[..name.IndexOf(".attn", StringComparison.Ordinal)];
                var mask = new float[Positions * Positions];
                for (var i = 0; i < Positions; i++)
                {
                    mask.AsSpan(i * Positions, i + 1).Fill(1f);
                }
                tensors.Add(new NamedTensor($"{prefix}{layer}.attn.bias", [1, 1, Positions, Positions], mask));
                tensors.Add(new NamedTensor($"{prefix}{layer}.attn.masked_bias", [], new float[] { -1e4f }));
            }
        }
        SafeTensors.Write(Path.Combine(directory, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(directory, "config.json"), configOverride ?? Config());
    }

    public string Config(string activation = "gelu_new", string epsilon = "1e-05") => string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "activation_function": "{{activation}}",
          "architectures": ["GPT2LMHeadModel"],
          "attn_pdrop": 0.1,
          "embd_pdrop": 0.1,
          "initializer_range": 0.02,
          "layer_norm_epsilon": {{epsilon}},
          "model_type": "gpt2",
          "n_ctx": {{Positions}},
          "n_embd": {{Channels}},
          "n_head": {{Heads}},
          "n_inner": null,
          "n_layer": {{Layers}},
          "n_positions": {{Positions}},
          "resid_pdrop": 0.1,
          "vocab_size": {{VocabSize}}
        }
        """);

    /// <summary>The logits [T, V] of one sequence: x = wte[token] + wpe[t]; blocks x += attn(ln_1(x)), x += mlp(ln_2(x)); ln_f(x)·wteᵀ.</summary>
    public double[] Logits(int[] tokens)
    {
        var (t, c, h) = (tokens.Length, Channels, Heads);
        var d = c / h;
        var x = new double[t * c];
        for (var i = 0; i < t; i++)
        {
            for (var j = 0; j < c; j++)
            {
                x[(i * c) + j] = this["wte.weight"][(tokens[i] * c) + j] + this["wpe.weight"][(i * c) + j];
            }
        }
        for (var l = 0; l < Layers; l++)
        {
            var qkv = Conv1D(Norm(x, t, $"h.{l}.ln_1"), t, c, 3 * c, $"h.{l}.attn.c_attn");
            var heads = new double[t * c];
            for (var head = 0; head < h; head++)
            {
                for (var i = 0; i < t; i++)
                {
                    var scores = new double[i + 1];
                    for (var j = 0; j <= i; j++)
                    {
                        for (var k = 0; k < d; k++)
                        {
                            scores[j] += qkv[(i * 3 * c) + (head * d) + k] * qkv[(j * 3 * c) + c + (head * d) + k];
                        }
                        scores[j] /= Math.Sqrt(d);
                    }
                    var max = scores.Max();
                    var total = scores.Sum(s => Math.Exp(s - max));
                    for (var j = 0; j <= i; j++)
                    {
                        var p = Math.Exp(scores[j] - max) / total;
                        for (var k = 0; k < d; k++)
                        {
                            heads[(i * c) + (head * d) + k] += p * qkv[(j * 3 * c) + (2 * c) + (head * d) + k];
                        }
                    }
                }
            }
            Add(x, Conv1D(heads, t, c, c, $"h.{l}.attn.c_proj"));
            var hidden = Conv1D(Norm(x, t, $"h.{l}.ln_2"), t, c, 4 * c, $"h.{l}.mlp.c_fc");
            for (var i = 0; i < hidden.Length; i++)
            {
                var u = hidden[i];
                hidden[i] = 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + (0.044715 * u * u * u))));
            }
            Add(x, Conv1D(hidden, t, 4 * c, c, $"h.{l}.mlp.c_proj"));
        }
        var final = Norm(x, t, "ln_f");
        var logits = new double[t * VocabSize];
        var wte = this["wte.weight"];
        for (var i = 0; i < t; i++)
        {
            for (var v = 0; v < VocabSize; v++)
            {
                for (var j = 0; j < c; j++)
                {
                    logits[(i * VocabSize) + v] += final[(i * c) + j] * wte[(v * c) + j];
                }
            }
        }
        return logits;
    }

    private void Add(string name, int[] shape, float[] values) => Tensors.Add((name, shape, values));

    private static void Add(double[] x, double[] y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] += y[i];
        }
    }

    // y[t, out] = x[t, in]·W[in, out] + b[out]: Hugging Face's Conv1D.
    private double[] Conv1D(double[] x, int rows, int inputs, int outputs, string prefix)
    {
        var (w, b) = (this[$"{prefix}.weight"], this[$"{prefix}.bias"]);
        var y = new double[rows * outputs];
        for (var i = 0; i < rows; i++)
        {
            for (var o = 0; o < outputs; o++)
            {
                var sum = (double)b[o];
                for (var k = 0; k < inputs; k++)
                {
                    sum += x[(i * inputs) + k] * w[(k * outputs) + o];
                }
                y[(i * outputs) + o] = sum;
            }
        }
        return y;
    }

    private double[] Norm(double[] x, int rows, string prefix)
    {
        var (gamma, beta, c) = (this[$"{prefix}.weight"], this[$"{prefix}.bias"], Channels);
        var y = new double[x.Length];
        for (var i = 0; i < rows; i++)
        {
            var row = x.AsSpan(i * c, c);
            var mean = 0.0;
            foreach (var value in row)
            {
                mean += value / c;
            }
            var variance = 0.0;
            foreach (var value in row)
            {
                variance += (value - mean) * (value - mean) / c;
            }
            var rstd = 1 / Math.Sqrt(variance + 1e-5);
            for (var j = 0; j < c; j++)
            {
                y[(i * c) + j] = ((row[j] - mean) * rstd * gamma[j]) + beta[j];
            }
        }
        return y;
    }
}
