using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NanoLlm.Extensions.AI;
using NanoLlm.IntegrationTests.Server;

namespace NanoLlm.IntegrationTests.ExtensionsAI;

/// <summary>The README's IChatClient example, compiled as a console app of its own and run on a tiny model.</summary>
public sealed partial class ReadmeExampleTests : IDisposable
{
    // What a console project's ImplicitUsings bring, so the example compiles as it would in `dotnet new console`.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private readonly TinyModel _model = new();

    public void Dispose() => _model.Dispose();

    [GeneratedRegex("```csharp test=tests/NanoLlm.IntegrationTests/ExtensionsAI/ReadmeExampleTests.cs\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    private static string Example()
    {
        var readme = File.ReadAllText(Path.Combine(ProgramRunner.RepositoryRoot, "README.md"));
        return CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).Single(code => code.Contains(nameof(NanoLlmChatClient), StringComparison.Ordinal));
    }

    [Fact]
    public void The_example_is_ten_lines_at_most()
    {
        Assert.InRange(Example().TrimEnd().Split('\n').Length, 1, 10);
    }

    [Fact]
    public void The_IChatClient_example_compiles_and_streams_a_reply()
    {
        // The example opens the Shakespeare model; here it opens the tiny one.
        var code = Example().Replace("target/shakespeare.weights", _model.WeightsPath.Replace("\\", "/", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.NotEqual(Example(), code);
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat([typeof(NanoLlmChatClient).Assembly.Location, typeof(Microsoft.Extensions.AI.IChatClient).Assembly.Location, typeof(Training.Cortex).Assembly.Location])
            .Distinct()
            .Select(path => MetadataReference.CreateFromFile(path));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "ReadmeExample",
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse), CSharpSyntaxTree.ParseText(code, parse)],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();

        var emitted = compilation.Emit(image);

        Assert.True(emitted.Success, string.Join('\n', emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        var output = new StringWriter();
        var console = Console.Out;
        Console.SetOut(output);
        try
        {
            var entry = Assembly.Load(image.ToArray()).EntryPoint!;
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        finally
        {
            Console.SetOut(console);
        }
        Assert.True(output.ToString().Trim().Length > 10, $"the example printed: {output}");
    }
}
