using System.Diagnostics;
using System.Globalization;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;
using NanoLlm.Training;

namespace NanoLlm.IntegrationTests;

/// <summary>
/// A training run killed at any moment (kill -9, Ctrl-C) or refused by its disk: the weights file and the checkpoint
/// are each a whole version, resuming continues to files byte-identical to an uninterrupted run's, and a disk error
/// is one line with exit code 2.
/// </summary>
public sealed class CrashSafetyTests : IDisposable
{
    // A bigram that writes its weights (256 KB) and an AdamW checkpoint (768 KB) at every step, so a kill at a random
    // moment often lands inside a write.
    private const string EveryStep = """
        [model]
        name = "bigram"

        [training]
        corpus = "corpus.txt"
        steps = 30
        batch_size = 8
        optimizer = "adamw"
        learning_rate = 0.05
        eval_interval = 1
        checkpoint_interval = 1

        [weights]
        path = "out/run.weights"
        """;

    private const string Weights = "out/run.weights";

    private readonly TempFolder _folder = new();

    public CrashSafetyTests() => WriteRun(_folder.Path);

    public void Dispose() => _folder.Dispose();

    /// <summary>Kill points to try: NANOLLM_KILL_POINTS, or a few so the suite stays fast.</summary>
    private static int KillPoints =>
        int.TryParse(Environment.GetEnvironmentVariable("NANOLLM_KILL_POINTS"), CultureInfo.InvariantCulture, out var points) ? points : 6;

    [Fact]
    public void Killed_at_random_moments_the_files_stay_whole_and_resuming_ends_byte_identical_to_an_uninterrupted_run()
    {
        var (reference, duration) = Uninterrupted();
        var random = new Random(22);
        var killsInsideWrites = 0;
        var kills = 0;
        while (kills < KillPoints)
        {
            using var chain = new TempFolder();
            WriteRun(chain.Path);
            var finished = false;
            while (!finished && kills < KillPoints)
            {
                using var process = ProgramRunner.StartTrain(chain.Path, ResumeArguments(chain.Path));
                var drained = Drain(process);
                if (process.WaitForExit(TimeSpan.FromMilliseconds(random.NextDouble() * duration.TotalMilliseconds)))
                {
                    finished = Finished(process, drained, chain.Path);
                    continue;
                }
                process.Kill();
                process.WaitForExit();
                kills++;
                killsInsideWrites += TemporaryFiles(chain.Path).Length > 0 ? 1 : 0;
                AssertWhole(chain.Path);
            }
            while (!finished)
            {
                var resumed = ProgramRunner.Train(chain.Path, ResumeArguments(chain.Path));
                finished = resumed.ExitCode == 0 || IsAlreadyDone(resumed.StandardError);
                Assert.True(finished, resumed.StandardError);
            }
            Assert.Equal(reference, Files(chain.Path));
            Assert.Empty(TemporaryFiles(chain.Path));
        }
        Console.WriteLine($"kill -9 at {kills} random moments, {killsInsideWrites} of them inside a write: every file whole, every resumed run byte-identical");
    }

    [Fact]
    public async Task Ctrl_c_then_resume_ends_byte_identical_to_an_uninterrupted_run()
    {
        WriteRun(_folder.Path, steps: 40);
        var (reference, _) = Uninterrupted();
        using var chain = new TempFolder();
        WriteRun(chain.Path, steps: 40);

        using var process = ProgramRunner.StartTrain(chain.Path, "run.toml");
        var drained = Drain(process);
        while (!File.Exists(Path.Combine(chain.Path, Checkpoint.PathFor(Weights))) && !process.HasExited)
        {
            await Task.Delay(5);
        }
        using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync();
        }
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, await drained);
        Assert.Contains("interrupted at step", await drained);

        var resumed = ProgramRunner.Train(chain.Path, "run.toml", "--resume");

        Assert.True(resumed.ExitCode == 0, resumed.StandardError);
        Assert.Equal(reference, Files(chain.Path));
    }

    [Fact]
    public void Resuming_a_finished_run_removes_what_a_kill_inside_its_last_writes_left()
    {
        WriteRun(_folder.Path, steps: 3);
        Assert.Equal(0, ProgramRunner.Train(_folder.Path, "run.toml").ExitCode);
        var output = Path.Combine(_folder.Path, "out");
        string[] leftovers = [.. new[] { "run.weights", "run.weights.checkpoint", "run.weights.loss.png", "run.weights.metrics.csv" }
            .Select(name => Path.Combine(output, $".{name}.{Guid.NewGuid():N}.tmp"))];
        foreach (var leftover in leftovers)
        {
            File.WriteAllText(leftover, "half");
        }

        var resumed = ProgramRunner.Train(_folder.Path, "run.toml", "--resume");

        Assert.True(IsAlreadyDone(resumed.StandardError), resumed.StandardError);
        Assert.Empty(TemporaryFiles(_folder.Path));
    }

    [MountFact]
    public void A_full_disk_stops_the_run_with_one_line_naming_the_file_and_keeps_whole_files()
    {
        // 1.5 MB holds the weights and one checkpoint but not a second checkpoint beside the first.
        using var disk = MountedFolder.Tmpfs(kilobytes: 1536);
        var weights = disk.File("run.weights");

        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--set", $"weights.path={weights}");

        Assert.Equal(2, result.ExitCode);
        var line = result.StandardError.TrimEnd().Split('\n')[^1];
        Assert.Matches($@"^error: ({Regex(weights)}|{Regex(Checkpoint.PathFor(weights))}): cannot write \(No space left on device", line);
        Assert.Empty(Directory.GetFiles(disk.Path, "*.tmp"));
        foreach (var path in (string[])[weights, Checkpoint.PathFor(weights)])
        {
            Assert.Equal("bigram", Cortex.Load(path).Model.Spec.Name);
        }
    }

    [MountFact]
    public void A_read_only_weights_folder_stops_the_run_with_one_line_and_exit_2()
    {
        using var disk = MountedFolder.Tmpfs(kilobytes: 64);
        disk.MakeReadOnly();

        var result = ProgramRunner.Train(_folder.Path, "run.toml", "--set", $"weights.path={disk.File("run.weights")}");

        Assert.Equal(2, result.ExitCode);
        var line = result.StandardError.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("error: ", line);
        Assert.Contains(disk.Path, line);
        Assert.Contains("Read-only file system", line);
        Assert.DoesNotContain("   at ", result.StandardError);
    }

    private (byte[][] Files, TimeSpan Duration) Uninterrupted()
    {
        var clock = Stopwatch.StartNew();
        var result = ProgramRunner.Train(_folder.Path, "run.toml");
        Assert.True(result.ExitCode == 0, result.StandardError);
        return (Files(_folder.Path), clock.Elapsed);
    }

    private static void WriteRun(string folder, int steps = 30)
    {
        File.WriteAllText(Path.Combine(folder, "corpus.txt"), string.Concat(Enumerable.Repeat("To be, or not to be, that is the question. ", 60)));
        File.WriteAllText(Path.Combine(folder, "run.toml"), EveryStep.Replace("steps = 30", $"steps = {steps}", StringComparison.Ordinal));
    }

    // A run killed before its first write has no out/ folder yet.
    private static string[] TemporaryFiles(string folder)
    {
        var output = Path.Combine(folder, "out");
        return Directory.Exists(output) ? Directory.GetFiles(output, "*.tmp") : [];
    }

    private static string[] ResumeArguments(string folder) =>
        File.Exists(Path.Combine(folder, Checkpoint.PathFor(Weights))) ? ["run.toml", "--resume"] : ["run.toml"];

    private static byte[][] Files(string folder) =>
        [File.ReadAllBytes(Path.Combine(folder, Weights)), File.ReadAllBytes(Path.Combine(folder, Checkpoint.PathFor(Weights)))];

    // Each file that exists is a whole version: it loads, and a checkpoint names a step of the run.
    private static void AssertWhole(string folder)
    {
        var weights = Path.Combine(folder, Weights);
        if (File.Exists(weights))
        {
            Assert.Equal("bigram", Cortex.Load(weights).Model.Spec.Name);
        }
        var checkpoint = Path.Combine(folder, Checkpoint.PathFor(Weights));
        if (File.Exists(checkpoint))
        {
            var step = int.Parse(SafeTensors.Read(checkpoint).Metadata["checkpoint_step"], CultureInfo.InvariantCulture);
            Assert.InRange(step, 1, 100);
            Assert.Equal("bigram", Cortex.Load(checkpoint).Model.Spec.Name);
        }
    }

    // A run that exited by itself either finished or found its checkpoint already at the last step (killed after it).
    private static bool Finished(Process process, Task<string> drained, string folder)
    {
        var error = drained.Result;
        Assert.True(process.ExitCode == 0 || IsAlreadyDone(error), $"exit {process.ExitCode} in {folder}: {error}");
        return true;
    }

    private static bool IsAlreadyDone(string error) => error.Contains("already: set more steps", StringComparison.Ordinal);

    private static Task<string> Drain(Process process)
    {
        _ = process.StandardOutput.ReadToEndAsync();
        return process.StandardError.ReadToEndAsync();
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
