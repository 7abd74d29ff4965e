using System.Diagnostics;
using System.Reflection;

namespace NanoLlm.IntegrationTests;

/// <summary>Runs the built program DLLs (<c>dotnet NanoLlm.Train.dll …</c>) as real processes in a given folder.</summary>
public static class ProgramRunner
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static Result Train(string workingDirectory, params string[] args) => Run("NanoLlm.Train", workingDirectory, args);

    public static Result Chat(string workingDirectory, params string[] args) => Run("NanoLlm.Chat", workingDirectory, args);

    public static Result Convert(string workingDirectory, params string[] args) => Run("NanoLlm.Convert", workingDirectory, args);
    public static Result Serve(string workingDirectory, params string[] args) => Run("NanoLlm.Server", workingDirectory, args);
    public static Result Explain(string workingDirectory, params string[] args) => Run("NanoLlm.Explain", workingDirectory, args);
    public static Result Tokenize(string workingDirectory, params string[] args) => Run("NanoLlm.Tokenize", workingDirectory, args);

    /// <summary>Starts the train program without waiting, for tests that signal it while it runs.</summary>
    public static Process StartTrain(string workingDirectory, params string[] args) => Start("NanoLlm.Train", workingDirectory, args);

    /// <summary>Starts the server without waiting; it runs until killed.</summary>
    public static Process StartServer(string workingDirectory, params string[] args) => Start("NanoLlm.Server", workingDirectory, args);

    private static Process Start(string program, string workingDirectory, string[] args)
    {
        var process = Process.Start(StartInfo(program, workingDirectory, args))!;
        process.StandardInput.Close();
        return process;
    }

    private static Result Run(string program, string workingDirectory, string[] args)
    {
        using var process = Process.Start(StartInfo(program, workingDirectory, args))!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish within 2 minutes");
        }
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    private static ProcessStartInfo StartInfo(string program, string workingDirectory, string[] args)
    {
        var configuration = typeof(ProgramRunner).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var dll = Path.Combine(RepositoryRoot, "src", program, "bin", configuration, "net10.0", program + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is not built: build the solution first (make build).");

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return start;
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "NanoLlm.slnx")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException("NanoLlm.slnx not found above " + AppContext.BaseDirectory);
    }
}
