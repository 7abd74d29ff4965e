using System.Diagnostics;
using System.Text.RegularExpressions;
using NanoLlm.Training;

namespace NanoLlm.IntegrationTests;

/// <summary>What a user expects around a training run: metrics, plot, Ctrl-C, resume, divergence.</summary>
public sealed class TrainingRunTests : IDisposable
{
    private const string TinyGpt = """
        [model]
        name = "gpt"
        context_length = 16
        embedding_size = 16
        layers = 1
        heads = 2

        [training]
        corpus = "corpus.txt"
        steps = 30
        batch_size = 4
        optimizer = "adamw"
        learning_rate = 3e-3
        eval_interval = 10

        [weights]
        path = "out/tiny.weights"
        """;

    private readonly TempFolder _folder = new();

    public TrainingRunTests()
    {
        _folder.Write("corpus.txt", string.Concat(Enumerable.Repeat("To be, or not to be, that is the question. ", 60)));
        _folder.Write("run.toml", TinyGpt);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_run_writes_a_metrics_csv_and_a_loss_plot_and_names_them()
    {
        var result = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.EndsWith("metrics=out/tiny.weights.metrics.csv plot=out/tiny.weights.loss.png", result.StandardOutput.TrimEnd());
        var rows = File.ReadAllLines(Path.Combine(_folder.Path, "out/tiny.weights.metrics.csv"));
        Assert.Equal("step,elapsed_s,loss,train_loss,val_loss,val_bpb,learning_rate,grad_norm,tokens_per_s,best_val_loss", rows[0]);
        Assert.Equal(31, rows.Length);
        Assert.Equal(10, rows[10].Split(',').Length);
        Assert.Equal(rows[10].Split(',')[4], rows[10].Split(',')[9]);
        Assert.NotEqual(string.Empty, rows[10].Split(',')[4]);
        var png = File.ReadAllBytes(Path.Combine(_folder.Path, "out/tiny.weights.loss.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
    }

    [Fact]
    public void Diagnostics_add_columns_per_tensor_and_activation_and_two_panels_to_the_plot()
    {
        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--set", "training.diagnostics_interval=10");

        Assert.True(result.ExitCode == 0, result.StandardError);
        var rows = File.ReadAllLines(Path.Combine(_folder.Path, "out/tiny.weights.metrics.csv")).Select(r => r.Split(',')).ToArray();
        var header = rows[0];
        Assert.Equal("step,elapsed_s,loss,train_loss,val_loss,val_bpb,learning_rate,grad_norm,tokens_per_s,best_val_loss".Split(','), header[..10]);
        Assert.Contains("grad_norm:wte", header);
        Assert.Contains("update_ratio:h.0.attn.c_attn.weight", header);
        Assert.Contains("act_mean:h.0.gelu", header);
        Assert.Contains("act_std:h.0.attn", header);
        Assert.Contains("act_saturated:h.0.attn", header);
        var ratio = Array.IndexOf(header, "update_ratio:h.0.mlp.c_fc.weight");
        Assert.Equal([1, 10, 20, 30], rows[1..].Where(r => r[ratio].Length > 0).Select(r => int.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(rows[1..], r => Assert.Equal(header.Length, r.Length));
        var value = double.Parse(rows[10][ratio], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(value, 1e-6, 1);
        using var plot = new ScottPlot.Image(Path.Combine(_folder.Path, "out/tiny.weights.loss.png"));
        Assert.Equal((1100, 1400), (plot.Width, plot.Height));
    }

    [Fact]
    public void Without_diagnostics_the_plot_keeps_its_single_panel()
    {
        var result = ProgramRunner.Train(_folder.Path, "run.toml");

        Assert.True(result.ExitCode == 0, result.StandardError);
        using var plot = new ScottPlot.Image(Path.Combine(_folder.Path, "out/tiny.weights.loss.png"));
        Assert.Equal((900, 500), (plot.Width, plot.Height));
    }

    [Fact]
    public void Resuming_with_diagnostics_switched_on_moves_the_history_under_the_new_columns()
    {
        Assert.Equal(0, ProgramRunner.Train(_folder.Path, "run.toml", "--set", "training.steps=20").ExitCode);

        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--resume", "--set", "training.diagnostics_interval=5");

        Assert.True(result.ExitCode == 0, result.StandardError);
        var rows = File.ReadAllLines(Path.Combine(_folder.Path, "out/tiny.weights.metrics.csv")).Select(r => r.Split(',')).ToArray();
        var ratio = Array.IndexOf(rows[0], "update_ratio:wte");
        Assert.True(ratio > 8);
        Assert.Equal(Enumerable.Range(1, 30).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows[1..].Select(r => r[0]));
        Assert.All(rows[1..], r => Assert.Equal(rows[0].Length, r.Length));
        Assert.Equal(["21", "25", "30"], rows[1..].Where(r => r[ratio].Length > 0).Select(r => r[0]));
    }

    [Fact]
    public async Task Ctrl_c_writes_a_checkpoint_exits_0_and_resume_finishes_the_run()
    {
        _folder.Write("long.toml", TinyGpt.Replace("steps = 30", "steps = 100000", StringComparison.Ordinal));
        using var process = ProgramRunner.StartTrain(_folder.Path, "long.toml");
        var error = new System.Text.StringBuilder();
        var started = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (error)
            {
                error.AppendLine(e.Data);
            }
            if (e.Data?.StartsWith("step ", StringComparison.Ordinal) == true)
            {
                started.TrySetResult();
            }
        };
        process.BeginErrorReadLine();
        var output = process.StandardOutput.ReadToEndAsync();
        await started.Task.WaitAsync(TimeSpan.FromMinutes(1));

        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(0, process.ExitCode);
        lock (error)
        {
            Assert.Contains("resume with make train CONFIG=long.toml RESUME=1", error.ToString());
        }
        Assert.StartsWith("trained model=gpt", await output);
        Assert.True(File.Exists(Path.Combine(_folder.Path, Checkpoint.PathFor("out/tiny.weights"))));
        int stoppedAt;
        lock (error)
        {
            stoppedAt = int.Parse(Regex.Match(error.ToString(), @"interrupted at step (\d+):").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        var finalStep = stoppedAt + 20;
        var resumed = ProgramRunner.Train(_folder.Path, "long.toml", "--resume", "--set", $"training.steps={finalStep}");
        Assert.True(resumed.ExitCode == 0, resumed.StandardError);
        Assert.Contains($"steps={finalStep} ", resumed.StandardOutput);
        Assert.DoesNotContain("NaN", resumed.StandardOutput);
    }

    [Fact]
    public void A_time_budget_ends_the_run_and_the_summary_and_progress_count_minutes()
    {
        var result = ProgramRunner.Train(
            _folder.Path, "run.toml", "--set", "training.steps=1000000", "--set", "training.time_budget_minutes=0.05", "--set", "training.optimizer=muon",
            "--set", "training.lr_schedule=wsd");

        Assert.True(result.ExitCode == 0, result.StandardError);
        var summary = Regex.Match(result.StandardOutput, @"steps=(\d+) .* best_val_step=(\d+) best_val_minutes=([\d.]+) .* minutes=([\d.]+) ");
        Assert.True(summary.Success, result.StandardOutput);
        var steps = int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(steps, 2, 999_999);
        Assert.InRange(double.Parse(summary.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture), 0.05, 1);
        Assert.DoesNotContain("interrupted", result.StandardError);
        Assert.Matches(@"step \d+ min \d\.\d/0\.05 ", result.StandardError);
    }

    [Fact]
    public void Resuming_a_run_that_already_reached_its_steps_exits_2_saying_so()
    {
        Assert.Equal(0, ProgramRunner.Train(_folder.Path, "run.toml").ExitCode);

        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--resume", "--set", "training.steps=20");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            "error: run.toml: [training] steps: the checkpoint out/tiny.weights.checkpoint is at step 30 of 20 already: set more steps to continue the run",
            result.StandardError.Trim().Split('\n')[^1]);
    }

    [Fact]
    public void A_diverging_run_exits_2_naming_the_step()
    {
        var result = ProgramRunner.Train(
            _folder.Path, "run.toml", "--set", "training.optimizer=sgd", "--set", "training.learning_rate=1000", "--set", "training.steps=300");

        Assert.Equal(2, result.ExitCode);
        Assert.Matches(@"error: run\.toml: training diverged at step \d+", result.StandardError);
        Assert.DoesNotContain("   at ", result.StandardError);
    }
}
