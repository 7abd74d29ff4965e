using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NanoLlm.DocsTests.Checker;

/// <summary>
/// Compiles a chapter's program snippet as a reader's console project would (top-level statements, the SDK's implicit
/// usings, a reference to the NanoLlm library), runs it from the repository root and returns what it printed.
/// </summary>
public static partial class Snippets
{
    // The global usings of a console project with ImplicitUsings on, as `dotnet new console` creates it.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(path => MetadataReference.CreateFromFile(path)),
    ]);

    private static readonly Lock ConsoleLock = new();

    /// <summary>The program's output, or the compiler's errors / the exception it threw as <see cref="SnippetException"/>.</summary>
    public static string Run(string source, string workingDirectory)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "Snippet" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, parse), CSharpSyntaxTree.ParseText(ImplicitUsings, parse)],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            throw new SnippetException(string.Join("; ", errors.Select(e => $"line {e.Location.GetLineSpan().StartLinePosition.Line + 1}: {e.GetMessage(CultureInfo.InvariantCulture)}")));
        }

        // A context of its own, collected after the run; NanoLlm and the framework resolve to the test's own copies.
        var context = new AssemblyLoadContext("snippet", isCollectible: true);
        try
        {
            image.Position = 0;
            var entryPoint = context.LoadFromStream(image).EntryPoint!;
            lock (ConsoleLock)
            {
                var output = new StringWriter(CultureInfo.InvariantCulture);
                var (originalOut, originalDirectory) = (Console.Out, Environment.CurrentDirectory);
                Console.SetOut(output);
                Environment.CurrentDirectory = workingDirectory;
                try
                {
                    entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
                }
                catch (TargetInvocationException e) when (e.InnerException is not null)
                {
                    throw new SnippetException($"it threw {e.InnerException.GetType().Name}: {e.InnerException.Message}");
                }
                finally
                {
                    Console.SetOut(originalOut);
                    Environment.CurrentDirectory = originalDirectory;
                }
                return output.ToString();
            }
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>
    /// Whether a program printed what a chapter shows: the same words, and the same numbers to 0.1 % (or 1e-3 when
    /// near zero), so a different CPU's last float bits do not matter. Returns the first difference, or null.
    /// </summary>
    public static string? Difference(string shown, string printed)
    {
        var expected = Tokens().Matches(shown).Select(m => m.Value).ToList();
        var actual = Tokens().Matches(printed).Select(m => m.Value).ToList();
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var (want, got) = (i < expected.Count ? expected[i] : "(end)", i < actual.Count ? actual[i] : "(end)");
            if (!Same(want, got))
            {
                return $"the chapter shows \"{Visible(want)}\" where the program printed \"{Visible(got)}\" (word {i + 1})";
            }
        }
        return null;
    }

    // Control characters spelled out, so two words that print alike can be told apart.
    private static string Visible(string word) =>
        string.Concat(word.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    private static bool Same(string want, string got)
    {
        const NumberStyles style = NumberStyles.Float;
        if (double.TryParse(want, style, CultureInfo.InvariantCulture, out var a) && double.TryParse(got, style, CultureInfo.InvariantCulture, out var b))
        {
            return Math.Abs(a - b) <= Math.Max(1e-3, 1e-3 * Math.Abs(a));
        }
        return want == got;
    }

    // Numbers (with sign, decimals, exponent) and runs of other non-space characters.
    [GeneratedRegex(@"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[^\s\d+-]+|[+-]")]
    private static partial Regex Tokens();
}

/// <summary>A snippet that did not compile or threw.</summary>
public sealed class SnippetException(string message) : Exception(message);
