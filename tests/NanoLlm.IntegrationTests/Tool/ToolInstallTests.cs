using System.Diagnostics;
using System.Reflection;
using NanoLlm.IntegrationTests.Server;

namespace NanoLlm.IntegrationTests.Tool;

/// <summary>The nanollm tool packed with dotnet pack and installed with dotnet tool install into a temporary tool path.</summary>
public sealed class ToolInstallTests : IDisposable
{
    private readonly TinyModel _model = new();
    private readonly TempFolder _folder = new();

    public void Dispose()
    {
        _model.Dispose();
        _folder.Dispose();
    }

    private static ProgramRunner.Result Run(string file, string workingDirectory, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
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
    public void The_packed_tool_installs_and_runs_each_verb_with_the_programs_exit_codes()
    {
        var configuration = typeof(ToolInstallTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var packages = Path.Combine(_folder.Path, "packages");
        var tools = Path.Combine(_folder.Path, "tools");
        var pack = Run("dotnet", ProgramRunner.RepositoryRoot, ["pack", "src/NanoLlm.Tool", "-c", configuration, "--no-build", "-o", packages, "--nologo"]);
        Assert.True(pack.ExitCode == 0, pack.StandardOutput + pack.StandardError);
        // A package cache of its own, so an older NanoLlm.Tool 0.1.0 cached by an earlier install is never picked up.
        var install = Run(
            "dotnet", _folder.Path, ["tool", "install", "NanoLlm.Tool", "--tool-path", tools, "--add-source", packages],
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_folder.Path, "nuget") });
        Assert.True(install.ExitCode == 0, install.StandardOutput + install.StandardError);
        var nanollm = Path.Combine(tools, OperatingSystem.IsWindows() ? "nanollm.exe" : "nanollm");

        var tokenize = Run(nanollm, _model.Folder, ["tokenize", _model.RunFile, "--text", "To be"]);
        var chat = Run(nanollm, _model.Folder, ["chat", _model.RunFile, "--prompt", "To", "--set", "sampling.max_new_tokens=10", "--set", "sampling.temperature=0"]);
        var badKey = Run(nanollm, _model.Folder, ["train", _model.RunFile, "--set", "training.stepz=1"]);
        var noVerb = Run(nanollm, _model.Folder, []);

        Assert.True(tokenize.ExitCode == 0, tokenize.StandardError);
        Assert.Contains("ids (5): 84 111 32 98 101\n", tokenize.StandardOutput, StringComparison.Ordinal);
        Assert.True(chat.ExitCode == 0, chat.StandardError);
        Assert.Equal(10, chat.StandardOutput.TrimEnd('\n').Length);
        Assert.Equal(2, badKey.ExitCode);
        Assert.Contains("stepz", badKey.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, noVerb.ExitCode);
        Assert.Contains("train|chat|serve|tokenize", noVerb.StandardError, StringComparison.Ordinal);
    }
}
