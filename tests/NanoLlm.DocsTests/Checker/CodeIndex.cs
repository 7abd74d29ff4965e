using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NanoLlm.DocsTests.Checker;

/// <summary>
/// The types and members declared in the repository's C# files, read from the source by Roslyn's parser (no
/// compilation): enough to say whether <c>Bpe.Encode</c> is declared in <c>src/NanoLlm/Tokenization/Bpe.cs</c>.
/// </summary>
public sealed class CodeIndex
{
    private static readonly string[] Folders = ["src", "tests", "bench", "tools"];

    private readonly string _root;
    private readonly Dictionary<string, FileDeclarations> _files = new(StringComparer.Ordinal);
    private readonly Lazy<IReadOnlyList<string>> _allFiles;

    public CodeIndex(string root)
    {
        _root = root;
        _allFiles = new(() =>
        [
            .. Folders
                .Select(folder => Path.Combine(root, folder))
                .Where(Directory.Exists)
                .SelectMany(folder => Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
                .Where(path => !IsBuildOutput(path))
                .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
                .Order(StringComparer.Ordinal),
        ]);
    }

    /// <summary>Every C# file under src/, tests/, bench/ and tools/, relative to the root, build output left out.</summary>
    public IReadOnlyList<string> AllFiles => _allFiles.Value;

    /// <summary>
    /// Whether <paramref name="name"/> is declared in <paramref name="relativePath"/>: one segment is a type or a
    /// member there; <c>A.B.C</c> is type A declared there, B a member or nested type of A, and so on.
    /// </summary>
    public bool Declares(string relativePath, string name)
    {
        var declarations = DeclarationsOf(relativePath);
        var segments = name.Split('.');
        if (segments.Length == 1)
        {
            return declarations.Members.ContainsKey(segments[0]) || declarations.Members.Values.Any(m => m.Contains(segments[0]));
        }
        if (!declarations.Members.TryGetValue(segments[0], out var members))
        {
            return false;
        }
        for (var i = 1; i < segments.Length; i++)
        {
            if (!members.Contains(segments[i]))
            {
                return false;
            }
            if (i + 1 < segments.Length && !declarations.Members.TryGetValue(segments[i], out members!))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The files that declare <paramref name="name"/> (as <see cref="Declares"/> reads it), among <paramref name="files"/>.</summary>
    public IEnumerable<string> FilesDeclaring(string name, IEnumerable<string> files) => files.Where(f => Declares(f, name));

    /// <summary>Whether a type of this simple name is declared anywhere in the repository.</summary>
    public bool DeclaresTypeAnywhere(string typeName) => AllFiles.Any(f => DeclarationsOf(f).Members.ContainsKey(typeName));

    /// <summary>The text of every string literal in a file (a program's options are read from them).</summary>
    public IReadOnlyList<string> StringLiterals(string relativePath) => DeclarationsOf(relativePath).StringLiterals;

    private static bool IsBuildOutput(string path)
    {
        var separator = Path.DirectorySeparatorChar;
        return path.Contains($"{separator}bin{separator}", StringComparison.Ordinal) || path.Contains($"{separator}obj{separator}", StringComparison.Ordinal);
    }

    private FileDeclarations DeclarationsOf(string relativePath)
    {
        if (!_files.TryGetValue(relativePath, out var declarations))
        {
            var path = Path.Combine(_root, relativePath);
            declarations = File.Exists(path) ? Read(File.ReadAllText(path)) : new FileDeclarations([], []);
            _files[relativePath] = declarations;
        }
        return declarations;
    }

    private static FileDeclarations Read(string source)
    {
        var root = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Preview)).GetRoot();
        var members = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in root.DescendantNodes().OfType<BaseTypeDeclarationSyntax>())
        {
            var names = members.TryGetValue(type.Identifier.Text, out var existing) ? existing : members[type.Identifier.Text] = new(StringComparer.Ordinal);
            if (type is TypeDeclarationSyntax { ParameterList: { } primary } && type is RecordDeclarationSyntax)
            {
                names.UnionWith(primary.Parameters.Select(p => p.Identifier.Text));
            }
            if (type is EnumDeclarationSyntax enumeration)
            {
                names.UnionWith(enumeration.Members.Select(m => m.Identifier.Text));
            }
            if (type is TypeDeclarationSyntax declaration)
            {
                foreach (var member in declaration.Members)
                {
                    names.UnionWith(MemberNames(member));
                }
            }
        }
        var literals = root.DescendantTokens()
            .Where(t => t.IsKind(SyntaxKind.StringLiteralToken) || t.IsKind(SyntaxKind.InterpolatedStringTextToken))
            .Select(t => t.ValueText)
            .ToList();
        return new FileDeclarations(members, literals);
    }

    private static IEnumerable<string> MemberNames(MemberDeclarationSyntax member) => member switch
    {
        MethodDeclarationSyntax method => [method.Identifier.Text],
        ConstructorDeclarationSyntax constructor => [constructor.Identifier.Text],
        PropertyDeclarationSyntax property => [property.Identifier.Text],
        EventDeclarationSyntax @event => [@event.Identifier.Text],
        BaseFieldDeclarationSyntax field => field.Declaration.Variables.Select(v => v.Identifier.Text),
        BaseTypeDeclarationSyntax nested => [nested.Identifier.Text],
        DelegateDeclarationSyntax @delegate => [@delegate.Identifier.Text],
        IndexerDeclarationSyntax => ["this[]"],
        _ => [],
    };

    private sealed record FileDeclarations(Dictionary<string, HashSet<string>> Members, IReadOnlyList<string> StringLiterals);
}
