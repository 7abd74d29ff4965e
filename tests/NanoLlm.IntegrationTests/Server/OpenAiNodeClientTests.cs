using System.Diagnostics;

namespace NanoLlm.IntegrationTests.Server;

/// <summary>tools/clients/openai-node/check.mjs, OpenAI's official Node client, run by Node against the live server.</summary>
public sealed class OpenAiNodeClientTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private ProgramRunner.Result Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = _folder.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within 5 minutes");
        }
        return new ProgramRunner.Result(process.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void The_OpenAI_Node_client_passes_every_check()
    {
        var script = Path.Combine(ProgramRunner.RepositoryRoot, "tools", "clients", "openai-node");
        foreach (var file in new[] { "package.json", "package-lock.json", "check.mjs" })
        {
            File.Copy(Path.Combine(script, file), Path.Combine(_folder.Path, file));
        }

        var install = Run("npm", "ci", "--no-audit", "--no-fund");
        Assert.True(install.ExitCode == 0, install.StandardOutput + install.StandardError);
        var check = Run("node", "check.mjs", server.Host.Address, TinyModel.ModelId);

        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        Assert.Contains("7 passed, 0 failed", check.StandardOutput, StringComparison.Ordinal);
    }
}
