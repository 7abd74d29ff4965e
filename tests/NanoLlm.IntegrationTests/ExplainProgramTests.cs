using NanoLlm.Explain;
using NanoLlm.Inspection;
using NanoLlm.Model;
using NanoLlm.Training;
using ScottPlot;
using ScottPlot.Plottables;

namespace NanoLlm.IntegrationTests;

/// <summary>A tiny GPT and a tiny BPE bigram, trained once for the class.</summary>
public sealed class ExplainProgramFixture : IDisposable
{
    public const string GptRun = """
        [model]
        name = "gpt"
        context_length = 8
        embedding_size = 16
        layers = 2
        heads = 2

        [training]
        corpus = "corpus.txt"
        steps = 30
        batch_size = 8
        optimizer = "adamw"
        learning_rate = 1e-2

        [weights]
        path = "out/gpt.weights"
        """;

    public const string BigramRun = """
        [model]
        name = "bigram"
        vocab_size = 270

        [training]
        corpus = "corpus.txt"
        steps = 30
        batch_size = 8
        learning_rate = 1.0

        [weights]
        path = "out/bigram.weights"
        """;

    public ExplainProgramFixture()
    {
        Folder.Write("corpus.txt", string.Concat(Enumerable.Repeat("the cat sat on the mat.\n", 40)));
        Folder.Write("gpt.toml", GptRun);
        Folder.Write("bigram.toml", BigramRun);
        foreach (var run in new[] { "gpt.toml", "bigram.toml" })
        {
            var result = ProgramRunner.Train(Folder.Path, run);
            Assert.True(result.ExitCode == 0, result.StandardError);
        }
    }

    public TempFolder Folder { get; } = new();

    public void Dispose() => Folder.Dispose();
}

public sealed class ExplainProgramTests(ExplainProgramFixture fixture) : IClassFixture<ExplainProgramFixture>
{
    private string Folder => fixture.Folder.Path;

    private string Out(string name) => Path.Combine(Folder, "out", name);

    [Fact]
    public void A_gpt_gets_an_attention_png_per_layer_and_a_probability_png_of_the_sizes_its_shape_asks_for()
    {
        var result = ProgramRunner.Explain(Folder, "gpt.toml", "--prompt", "the cat");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.EndsWith(
            "explained model=gpt tokens=7 probabilities=out/gpt.weights.probabilities.png attention=out/gpt.weights.attention.0.png,out/gpt.weights.attention.1.png",
            result.StandardOutput.TrimEnd());
        // Two heads of a 7-token prompt: two 360-pixel panels side by side.
        foreach (var layer in new[] { 0, 1 })
        {
            AssertPng(Out($"gpt.weights.attention.{layer}.png"), 720, 360);
        }
        Assert.False(File.Exists(Out("gpt.weights.attention.2.png")));
        // Seven positions of ten candidates: 220 + 7·96 by 150 + 10·44.
        AssertPng(Out("gpt.weights.probabilities.png"), 892, 590);
    }

    [Fact]
    public void The_table_on_stdout_lists_the_top_candidates_after_each_position_with_whitespace_escaped()
    {
        var result = ProgramRunner.Explain(Folder, "gpt.toml", "--prompt", "the cat", "--top", "3");

        Assert.True(result.ExitCode == 0, result.StandardError);
        var lines = result.StandardOutput.Split('\n');
        Assert.StartsWith(" pos  token  next-token candidates", lines[0]);
        Assert.Matches(@"^   3  ␣      (\S+ \d\.\d{3}  ){2}\S+ \d\.\d{3}$", lines[4]);
        Assert.Matches(@"^   6  t      ", lines[7]);
    }

    [Fact]
    public void Positions_limits_the_chart_and_table_to_the_last_positions()
    {
        var result = ProgramRunner.Explain(Folder, "gpt.toml", "--prompt", "the cat sat on", "--positions", "3");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal(["  11  ␣", "  12  o", "  13  n"], result.StandardOutput.Split('\n')[1..4].Select(line => line[..7]));
        AssertPng(Out("gpt.weights.probabilities.png"), 220 + (3 * 96), 590);
        // Fourteen tokens, a context of 8: the maps cover the last 8 (160 + 8·22 = 336 → at least 360 a panel).
        AssertPng(Out("gpt.weights.attention.0.png"), 720, 360);
    }

    [Fact]
    public void A_bigram_with_a_bpe_vocabulary_gets_probabilities_only()
    {
        var result = ProgramRunner.Explain(Folder, "bigram.toml", "--prompt", "the mat");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Contains("the bigram model has no attention: probabilities only", result.StandardError);
        Assert.DoesNotContain("attention=", result.StandardOutput);
        Assert.False(File.Exists(Out("bigram.weights.attention.0.png")));
        var tokens = Cortex.Load(Out("bigram.weights")).Tokenizer.Encode("the mat").Length;
        Assert.True(tokens < 7, "the BPE vocabulary merges some of the prompt's bytes");
        AssertPng(Out("bigram.weights.probabilities.png"), 220 + (tokens * 96), 590);
    }

    [Theory]
    [InlineData(new[] { "gpt.toml" }, "--prompt needs the text to explain")]
    [InlineData(new[] { "gpt.toml", "--prompt", "a", "--top", "0" }, "--top 0: use a whole number from 1 to 100")]
    [InlineData(new[] { "absent.toml", "--prompt", "a" }, "absent.toml: cannot read the run file")]
    public void Bad_usage_exits_2_with_one_line(string[] args, string message)
    {
        var result = ProgramRunner.Explain(Folder, args);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.StandardError);
        Assert.Contains(message, result.StandardError);
        Assert.Single(result.StandardError.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Missing_weights_exit_2_saying_to_train_first()
    {
        fixture.Folder.Write("untrained.toml", ExplainProgramFixture.GptRun.Replace("out/gpt.weights", "out/none.weights", StringComparison.Ordinal));

        var result = ProgramRunner.Explain(Folder, "untrained.toml", "--prompt", "a");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: out/none.weights not found: train the model first with make train CONFIG=untrained.toml", result.StandardError.Trim());
    }

    [Fact]
    public void The_attention_plotted_is_the_attention_of_the_models_own_forward_pass()
    {
        var cortex = Cortex.Load(Out("gpt.weights"));
        var explanation = Explanation.Of(cortex.Model, cortex.Tokenizer, "the cat", 10);
        var model = (GptModel)cortex.Model;
        var tokens = explanation.Tokens.ToArray();
        model.Forward(tokens, tokens, 1, tokens.Length);

        for (var layer = 0; layer < 2; layer++)
        {
            var figure = ExplainCharts.AttentionFigure(explanation, layer);
            var forward = model.AttentionWeights(layer).ToArray();
            for (var h = 0; h < 2; h++)
            {
                var heatmap = figure.GetPlot(h).GetPlottables().OfType<Heatmap>().Single();
                for (var i = 0; i < 7; i++)
                {
                    for (var j = 0; j < 7; j++)
                    {
                        var expected = forward[(((h * 7) + i) * 7) + j];
                        Assert.Equal(j <= i ? expected : double.NaN, heatmap.Intensities[i, j], 1e-7);
                    }
                }
            }
        }
    }

    private static void AssertPng(string path, int width, int height)
    {
        using var image = new ScottPlot.Image(path);
        Assert.Equal((width, height), (image.Width, image.Height));
        var pixels = image.GetArrayRGB();
        var colours = new HashSet<int>();
        for (var y = 0; y < height; y += 3)
        {
            for (var x = 0; x < width; x += 3)
            {
                colours.Add((pixels[y, x, 0] << 16) | (pixels[y, x, 1] << 8) | pixels[y, x, 2]);
            }
        }
        Assert.True(colours.Count > 20, $"{path} looks blank: {colours.Count} colours");
    }
}
