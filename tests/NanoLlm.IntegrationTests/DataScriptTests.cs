using System.Diagnostics;

namespace NanoLlm.IntegrationTests;

/// <summary><c>make data</c>'s script: copies Tiny Shakespeare from DATA_SOURCE, checked by SHA-256.</summary>
public sealed class DataScriptTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static (int ExitCode, string Output) Fetch(string target, string source)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(ProgramRunner.RepositoryRoot, "tools", "data", "fetch-tinyshakespeare"));
        start.ArgumentList.Add(target);
        start.ArgumentList.Add(source);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    [Fact]
    public void A_valid_source_is_copied_and_a_second_run_does_nothing()
    {
        var target = Path.Combine(_folder.Path, "data", "tinyshakespeare.txt");

        var first = Fetch(target, TinyShakespeare.Path);
        var second = Fetch(target, TinyShakespeare.Path);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(1_115_394, new FileInfo(target).Length);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("already there", second.Output);
    }

    [Fact]
    public void A_file_with_the_wrong_checksum_exits_2_and_leaves_nothing_at_the_target()
    {
        var target = Path.Combine(_folder.Path, "data", "tinyshakespeare.txt");
        var wrong = _folder.Write("wrong.txt", "First Citizen:\nBefore we proceed any further, hear me speak.\n");

        var result = Fetch(target, wrong);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("sha256", result.Output);
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(Path.Combine(_folder.Path, "data")));
    }
}
