using NanoLlm.Config;
using NanoLlm.DocsTests.Support;
using NanoLlm.Model;
using NanoLlm.Tokenization;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/02-bigram.md.</summary>
public sealed class BigramExercises
{
    private const int V = 256;

    [Fact]
    public void Each_row_of_the_gradient_sums_to_zero()
    {
        var model = new BigramModel(V, SettingsSection.FromJson("model", "test", "{}"));
        model.Initialize(new Random(1));
        var random = new Random(3);
        foreach (ref var value in model.Parameters.Values.AsSpan())
        {
            value = (float)random.NextDouble();
        }
        int[] inputs = ['t', 'h', 'e', ' ', 't', 'h'];
        int[] targets = ['h', 'e', ' ', 't', 'h', 'e'];

        model.Forward(inputs, targets, batchSize: 2, length: 3);
        model.Backward();

        var grads = model.Parameters.Grads;
        for (var row = 0; row < V; row++)
        {
            Assert.Equal(0, grads.AsSpan(row * V, V).ToArray().Sum(), 5);
        }
        Assert.NotEqual(0, grads.AsSpan('h' * V, V).ToArray().Max());
    }

    [Fact]
    public void The_log_frequencies_are_the_minimum_with_zero_gradient()
    {
        // The training split of the shipped run: all but the last 10 % of the corpus.
        var corpus = Bpe.ByteLevel.Encode(File.ReadAllText(Repository.PathOf("configs/corpus.txt")));
        var tokens = corpus[..(corpus.Length - (int)(corpus.Length * 0.1))];
        var inputs = tokens[..^1].Select(t => (int)t).ToArray();
        var targets = tokens[1..].Select(t => (int)t).ToArray();
        var counts = new double[V, V];
        for (var i = 0; i < inputs.Length; i++)
        {
            counts[inputs[i], targets[i]]++;
        }
        // H(next | current) = −Σ count(x, y)/n · log(count(x, y)/count(x))
        var model = new BigramModel(V, SettingsSection.FromJson("model", "test", "{}"));
        var table = model.Parameters["token_logits"].Values;
        double entropy = 0;
        for (var x = 0; x < V; x++)
        {
            var rowCount = Enumerable.Range(0, V).Sum(y => counts[x, y]);
            for (var y = 0; y < V; y++)
            {
                // A pair never seen gets a score low enough to have no probability at all in float.
                table[(x * V) + y] = counts[x, y] > 0 ? (float)Math.Log(counts[x, y] / rowCount) : -1e4f;
                if (counts[x, y] > 0)
                {
                    entropy -= counts[x, y] / inputs.Length * Math.Log(counts[x, y] / rowCount);
                }
            }
        }

        var loss = model.Forward(inputs, targets, batchSize: 1, length: inputs.Length);
        model.Backward();

        Assert.Equal(entropy, loss, 4);
        Assert.All(model.Parameters.Grads, g => Assert.True(Math.Abs(g) < 1e-6, $"gradient {g}"));
        Assert.Equal(2.0515, entropy, 4);
    }
}
