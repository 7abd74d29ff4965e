using NanoLlm.Config;
using NanoLlm.Inspection;
using NanoLlm.Model;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Inspection;

public sealed class ExplanationTests
{
    private const int Channels = 8;
    private const int Heads = 2;
    private const int Layers = 2;
    private const int ContextLength = 6;

    private static GptModel CreateGpt(int vocabSize = 256)
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new((long)ContextLength, "test"),
            ["embedding_size"] = new((long)Channels, "test"),
            ["layers"] = new((long)Layers, "test"),
            ["heads"] = new((long)Heads, "test"),
            ["positional"] = new(GptModel.Learned, "test"),
        });
        var model = new GptModel(vocabSize, settings);
        var random = new Random(5);
        model.Initialize(random);
        // Larger weights than the initialization's 0.02, so attention is far from uniform.
        Initialization.Normal(model.Parameters.Values, 0.5, random);
        return model;
    }

    private static SettingsSection NoKeys() => new("model", "test", new Dictionary<string, SettingValue>());

    [Fact]
    public void Attention_weights_equal_a_naive_forward_computed_from_the_parameters()
    {
        var model = CreateGpt();

        var explanation = Explanation.Of(model, Tokenizer.ByteLevel, "ROMEO:", 10);

        var tokens = explanation.Tokens.ToArray();
        var expected = NaiveAttention(model.Parameters, tokens);
        var maps = explanation.Attention!;
        Assert.Equal((Layers, Heads, 0, 6), (maps.Layers, maps.Heads, maps.FirstPosition, maps.Length));
        for (var l = 0; l < Layers; l++)
        {
            for (var h = 0; h < Heads; h++)
            {
                for (var i = 0; i < tokens.Length; i++)
                {
                    for (var j = 0; j < tokens.Length; j++)
                    {
                        Assert.Equal(expected[l, h, i, j], maps.Weight(l, h, i, j), 1e-5);
                    }
                }
            }
        }
        Assert.True(maps.Weight(1, 1, 5, 2) > 0.01, "attention this test checks is far from zero");
    }

    [Fact]
    public void A_prompt_longer_than_the_context_shows_attention_over_its_last_positions()
    {
        var model = CreateGpt();

        var explanation = Explanation.Of(model, Tokenizer.ByteLevel, "To be or not", 3);

        var maps = explanation.Attention!;
        Assert.Equal(12, explanation.Tokens.Count);
        Assert.Equal((6, 6), (maps.FirstPosition, maps.Length));
        var expected = NaiveAttention(model.Parameters, [.. explanation.Tokens.Skip(6)]);
        Assert.Equal(expected[1, 0, 5, 3], maps.Weight(1, 0, 5, 3), 1e-5);
        Assert.Equal(12, explanation.Next.Count);
    }

    [Fact]
    public void Next_token_probabilities_are_the_softmax_of_the_forward_logits_most_likely_first()
    {
        var model = CreateGpt();
        var explanation = Explanation.Of(model, Tokenizer.ByteLevel, "ROMEO:", 10);
        var tokens = explanation.Tokens.ToArray();

        model.Forward(tokens, tokens, 1, tokens.Length);

        for (var p = 0; p < tokens.Length; p++)
        {
            var logits = model.Logits.Slice(p * 256, 256).ToArray();
            var probabilities = Softmax(logits);
            var ranked = Enumerable.Range(0, 256).OrderByDescending(t => probabilities[t]).ThenBy(t => t).Take(10).ToArray();
            Assert.Equal(ranked, explanation.Next[p].Select(c => c.Token));
            Assert.All(explanation.Next[p], c => Assert.Equal(probabilities[c.Token], c.Probability, 1e-6));
            Assert.Equal(explanation.Next[p].Select(c => TokenText.Show(Tokenizer.ByteLevel, c.Token)), explanation.Next[p].Select(c => c.Text));
        }
    }

    [Fact]
    public void Models_without_attention_give_probabilities_only()
    {
        var bigram = new BigramModel(256, NoKeys());
        bigram.Parameters["token_logits"].Values.Slice('a' * 256, 256)[(int)'b'] = 5f;

        var explanation = Explanation.Of(bigram, Tokenizer.ByteLevel, "ca", 5);

        Assert.Null(explanation.Attention);
        Assert.Equal(["c", "a"], explanation.Labels);
        Assert.Equal('b', explanation.Next[1][0].Token);
        Assert.Equal(Math.Exp(5) / (Math.Exp(5) + 255), explanation.Next[1][0].Probability, 1e-9);
    }

    [Fact]
    public void A_bpe_vocabulary_labels_the_prompt_with_whole_tokens()
    {
        var tokenizer = Tokenizer.Train("the theme then the the the"u8, 260);
        var mlp = new MlpModel(tokenizer.VocabSize, NoKeys());
        mlp.Initialize(new Random(1));

        var explanation = Explanation.Of(mlp, tokenizer, "the the", 4);

        Assert.Equal(tokenizer.Encode("the the").Length, explanation.Tokens.Count);
        Assert.Equal("the␣the", string.Concat(explanation.Labels));
        Assert.Contains(explanation.Labels, label => label.Length > 1);
        Assert.All(explanation.Next, candidates => Assert.Equal(4, candidates.Count));
    }

    private static double[] Softmax(float[] logits)
    {
        var max = logits.Max();
        var exps = logits.Select(z => Math.Exp(z - max)).ToArray();
        var total = exps.Sum();
        return [.. exps.Select(e => e / total)];
    }

    /// <summary>
    /// att[l, h, i, j] from the parameters alone, in double and plain loops: x = wte[token] + wpe[t]; per block
    /// a = LN₁(x), [q|k|v] = a·Wᵀ + b, att = causal softmax(q·kᵀ/√D), x += (att·v)·W_projᵀ + b, x += FFN(LN₂(x)).
    /// </summary>
    private static double[,,,] NaiveAttention(ParameterSet parameters, int[] tokens)
    {
        var (t, c, d) = (tokens.Length, Channels, Channels / Heads);
        var x = new double[t, c];
        for (var i = 0; i < t; i++)
        {
            for (var k = 0; k < c; k++)
            {
                x[i, k] = parameters["wte"].Values[(tokens[i] * c) + k] + parameters["wpe"].Values[(i * c) + k];
            }
        }
        var attention = new double[Layers, Heads, t, t];
        for (var l = 0; l < Layers; l++)
        {
            var qkv = Linear(LayerNorm(x, parameters, $"h.{l}.ln_1"), parameters, $"h.{l}.attn.c_attn");
            var heads = new double[t, c];
            for (var h = 0; h < Heads; h++)
            {
                for (var i = 0; i < t; i++)
                {
                    var scores = new double[i + 1];
                    for (var j = 0; j <= i; j++)
                    {
                        for (var k = 0; k < d; k++)
                        {
                            scores[j] += qkv[i, (h * d) + k] * qkv[j, c + (h * d) + k];
                        }
                        scores[j] /= Math.Sqrt(d);
                    }
                    var max = scores.Max();
                    var total = scores.Sum(s => Math.Exp(s - max));
                    for (var j = 0; j <= i; j++)
                    {
                        attention[l, h, i, j] = Math.Exp(scores[j] - max) / total;
                        for (var k = 0; k < d; k++)
                        {
                            heads[i, (h * d) + k] += attention[l, h, i, j] * qkv[j, (2 * c) + (h * d) + k];
                        }
                    }
                }
            }
            x = Add(x, Linear(heads, parameters, $"h.{l}.attn.c_proj"));
            var hidden = Linear(LayerNorm(x, parameters, $"h.{l}.ln_2"), parameters, $"h.{l}.mlp.c_fc");
            for (var i = 0; i < hidden.GetLength(0); i++)
            {
                for (var k = 0; k < hidden.GetLength(1); k++)
                {
                    var u = hidden[i, k];
                    hidden[i, k] = 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + (0.044715 * u * u * u))));
                }
            }
            x = Add(x, Linear(hidden, parameters, $"h.{l}.mlp.c_proj"));
        }
        return attention;
    }

    private static double[,] LayerNorm(double[,] x, ParameterSet parameters, string prefix)
    {
        var (rows, cols) = (x.GetLength(0), x.GetLength(1));
        var y = new double[rows, cols];
        for (var i = 0; i < rows; i++)
        {
            var mean = Enumerable.Range(0, cols).Average(k => x[i, k]);
            var variance = Enumerable.Range(0, cols).Average(k => (x[i, k] - mean) * (x[i, k] - mean));
            for (var k = 0; k < cols; k++)
            {
                y[i, k] = ((x[i, k] - mean) / Math.Sqrt(variance + 1e-5) * parameters[$"{prefix}.weight"].Values[k]) + parameters[$"{prefix}.bias"].Values[k];
            }
        }
        return y;
    }

    // y = x·Wᵀ + b, W [out, in]
    private static double[,] Linear(double[,] x, ParameterSet parameters, string prefix)
    {
        var weight = parameters[$"{prefix}.weight"];
        var (outputs, inputs) = (weight.Shape[0], weight.Shape[1]);
        var y = new double[x.GetLength(0), outputs];
        for (var i = 0; i < x.GetLength(0); i++)
        {
            for (var o = 0; o < outputs; o++)
            {
                double sum = parameters[$"{prefix}.bias"].Values[o];
                for (var k = 0; k < inputs; k++)
                {
                    sum += x[i, k] * weight.Values[(o * inputs) + k];
                }
                y[i, o] = sum;
            }
        }
        return y;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var y = new double[a.GetLength(0), a.GetLength(1)];
        for (var i = 0; i < a.GetLength(0); i++)
        {
            for (var k = 0; k < a.GetLength(1); k++)
            {
                y[i, k] = a[i, k] + b[i, k];
            }
        }
        return y;
    }
}
