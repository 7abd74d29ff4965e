using System.Text.RegularExpressions;

namespace NanoLlm.DocsTests.Checker;

/// <summary>
/// Keeps the tour true: checks a markdown file's links, code names, commands, quoted benchmark figures, snippets and
/// (for a chapter) its shape, against the repository it lives in. Each check returns problems as
/// <c>docs/02-bigram.md:14: …</c>; none means the file is true to the code. The conventions it enforces are written
/// down in docs/README.md.
/// </summary>
public sealed partial class DocsChecker
{
    /// <summary>The sections every chapter has, in this order.</summary>
    public static readonly IReadOnlyList<string> ChapterSections = ["The math", "The code", "The proof", "Run it", "Exercises"];

    /// <summary>The files whose measured figures a page may quote: the benchmarks and the reliability figures.</summary>
    private static readonly string[] FigureSources = ["BENCHMARKS.md", "RELIABILITY.md"];

    private readonly string _root;
    private readonly CodeIndex _code;
    private readonly Commands _commands;
    private readonly Dictionary<string, MarkdownFile> _markdown = new(StringComparer.Ordinal);

    public DocsChecker(string root)
    {
        _root = Path.GetFullPath(root);
        _code = new CodeIndex(_root);
        _commands = new Commands(_root, _code);
    }

    /// <summary>The chapters of the tour, in reading order: docs/NN-name.md.</summary>
    public IReadOnlyList<string> Chapters =>
        [
            .. Directory.EnumerateFiles(Path.Combine(_root, "docs"), "*.md")
                .Select(Path.GetFileName)
                .Where(name => ChapterName().IsMatch(name!))
                .Order(StringComparer.Ordinal)
                .Select(name => $"docs/{name}"),
        ];

    /// <summary>Links to files, folders and headings resolve; code names in links and backticks are declared where they say.</summary>
    public IEnumerable<string> CheckReferences(string relativePath)
    {
        var file = Markdown(relativePath);
        foreach (var link in file.Links)
        {
            if (Uri.TryCreate(link.Url, UriKind.Absolute, out _) || link.Url.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }
            var (target, fragment) = SplitFragment(link.Url);
            var targetPath = target.Length == 0 ? relativePath : Resolve(relativePath, target);
            if (targetPath is null || !(File.Exists(FullPath(targetPath)) || Directory.Exists(FullPath(targetPath))))
            {
                yield return At(file, link.Line, $"link to {link.Url}: no such file or folder");
                continue;
            }
            if (fragment is not null && targetPath.EndsWith(".md", StringComparison.Ordinal)
                && !Markdown(targetPath).Headings.Any(h => h.Slug == fragment))
            {
                yield return At(file, link.Line, $"link to {link.Url}: {targetPath} has no heading #{fragment}");
            }
            if (link.IsCode && targetPath.EndsWith(".cs", StringComparison.Ordinal))
            {
                var name = CodeName(link.Text);
                if (!_code.Declares(targetPath, name))
                {
                    yield return At(file, link.Line, $"`{link.Text}` is not declared in {targetPath}");
                }
            }
        }
        foreach (var code in file.Code)
        {
            var text = code.Text.Trim();
            if (RepositoryPath().IsMatch(text) && !Placeholder().IsMatch(text) && !File.Exists(FullPath(text)) && !Directory.Exists(FullPath(text)))
            {
                yield return At(file, code.Line, $"`{text}`: no such file or folder");
            }
            else if (QualifiedName().IsMatch(text) && !FileName().IsMatch(text))
            {
                var name = CodeName(text);
                var type = name.Split('.')[0];
                if (_code.DeclaresTypeAnywhere(type) && !_code.FilesDeclaring(name, _code.AllFiles).Any())
                {
                    yield return At(file, code.Line, $"`{text}`: {type} declares no {name[(type.Length + 1)..]}");
                }
            }
        }
    }

    /// <summary>Every command quoted (a code line or span starting with make or dotnet) names real targets, variables, options, files and keys.</summary>
    public IEnumerable<string> CheckCommands(string relativePath)
    {
        var file = Markdown(relativePath);
        foreach (var code in file.Code.Where(c => Commands.IsCommand(c.Text)))
        {
            foreach (var problem in _commands.Check(code.Text))
            {
                yield return At(file, code.Line, problem);
            }
        }
        foreach (var block in file.Blocks.Where(b => b.Language is not ("csharp" or "toml" or "json" or "python")))
        {
            foreach (var (line, number) in CommandLines(block))
            {
                if (Commands.IsCommand(line))
                {
                    foreach (var problem in _commands.Check(line))
                    {
                        yield return At(file, number, problem);
                    }
                }
                else if (block.Language == "sh" && line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'))
                {
                    yield return At(file, number, $"`{line.Trim()}` in a sh block: only make and dotnet commands go there (output goes in a text block)");
                }
            }
        }
    }

    /// <summary>
    /// Every figure quoted from BENCHMARKS.md (or RELIABILITY.md), written
    /// <c>[175.1 GFLOP/s](../BENCHMARKS.md#matmul "Forward | 1024×1024×1024")</c>, appears in the section the anchor
    /// names, on a line that holds the title when there is one.
    /// </summary>
    public IEnumerable<string> CheckFigures(string relativePath)
    {
        var file = Markdown(relativePath);
        foreach (var link in file.Links)
        {
            var (target, fragment) = SplitFragment(link.Url);
            var source = target.Length == 0 ? null : Resolve(relativePath, target);
            if (source is null || !FigureSources.Contains(source) || !File.Exists(FullPath(source)))
            {
                continue;
            }
            var figure = Figure().Match(link.Text);
            if (!figure.Success)
            {
                continue;
            }
            if (fragment is null)
            {
                yield return At(file, link.Line, $"figure {link.Text}: the link names no section of {source} (add #anchor)");
                continue;
            }
            var section = Section(Markdown(source), fragment);
            if (section is null)
            {
                yield return At(file, link.Line, $"figure {link.Text}: {source} has no heading #{fragment}");
                continue;
            }
            var number = new Regex(@"(?<![\d.,])" + Regex.Escape(figure.Value) + @"(?!\d|[.,]\d)");
            var lines = link.Title is null ? section : section.Where(l => l.Contains(link.Title, StringComparison.Ordinal)).ToList();
            if (link.Title is not null && lines.Count == 0)
            {
                yield return At(file, link.Line, $"figure {link.Text}: no line of {source}#{fragment} holds \"{link.Title}\"");
            }
            else if (!lines.Any(l => number.IsMatch(l)))
            {
                yield return At(file, link.Line,
                    $"figure {link.Text}: {figure.Value} is not in {source}#{fragment}{(link.Title is null ? "" : $" on the line of \"{link.Title}\"")}");
            }
        }
    }

    /// <summary>
    /// <c>```csharp run</c> blocks compile and run, and print what the <c>```text output</c> block after them shows;
    /// <c>```csharp from=PATH</c> blocks are excerpts whose lines appear in that file in order; <c>```csharp test=PATH</c> blocks
    /// are examples the test at PATH compiles and runs (one that needs files the checker has not, such as trained weights);
    /// any other csharp block is a problem.
    /// </summary>
    public IEnumerable<string> CheckSnippets(string relativePath)
    {
        var file = Markdown(relativePath);
        for (var i = 0; i < file.Blocks.Count; i++)
        {
            var block = file.Blocks[i];
            if (block.Language != "csharp")
            {
                continue;
            }
            var from = Regex.Match(block.Arguments, @"^from=(\S+)$");
            var test = Regex.Match(block.Arguments, @"^test=(\S+)$");
            if (block.Arguments == "run")
            {
                string? printed = null, failure = null;
                try
                {
                    printed = Snippets.Run(string.Join('\n', block.Lines), _root);
                }
                catch (SnippetException e)
                {
                    failure = e.Message;
                }
                if (failure is not null)
                {
                    yield return At(file, block.Line, $"the snippet fails: {failure}");
                    continue;
                }
                if (i + 1 < file.Blocks.Count && file.Blocks[i + 1] is { Language: "text", Arguments: "output" } output
                    && Snippets.Difference(string.Join('\n', output.Lines), printed!) is { } difference)
                {
                    // The whole output, so an author can paste it after checking it is right.
                    yield return At(file, output.Line, $"{difference}; the program printed:{Environment.NewLine}{printed}");
                }
            }
            else if (from.Success)
            {
                var source = from.Groups[1].Value;
                if (!File.Exists(FullPath(source)))
                {
                    yield return At(file, block.Line, $"excerpt from {source}: no such file");
                }
                else if (MissingExcerptLine(block.Lines, File.ReadAllLines(FullPath(source))) is { } missing)
                {
                    yield return At(file, block.Line + 1 + missing.Index, $"excerpt line `{missing.Text}` is not in {source} (in this order)");
                }
            }
            else if (test.Success)
            {
                if (!File.Exists(FullPath(test.Groups[1].Value)))
                {
                    yield return At(file, block.Line, $"example run by {test.Groups[1].Value}: no such test file");
                }
            }
            else
            {
                yield return At(file, block.Line, "a csharp block is ```csharp run (a program, compiled and run), ```csharp from=PATH (an excerpt) or ```csharp test=PATH (an example a test compiles and runs)");
            }
        }
    }

    /// <summary>A chapter has a title, the sections of <see cref="ChapterSections"/>, and in them what each promises.</summary>
    public IEnumerable<string> CheckChapterShape(string relativePath)
    {
        var file = Markdown(relativePath);
        if (file.Headings.Count == 0 || file.Headings[0] is not { Level: 1, Line: 1 })
        {
            yield return At(file, 1, "a chapter starts with its # title");
        }
        var sections = new Dictionary<string, (int First, int Last)>();
        foreach (var name in ChapterSections)
        {
            if (file.Section(name) is { } range)
            {
                sections[name] = range;
            }
            else
            {
                yield return At(file, 1, $"no \"## {name}\" section (a chapter has {string.Join(", ", ChapterSections.Select(s => $"\"{s}\""))})");
            }
        }
        bool CodeLinkIn(string section, string folder, int first = 0, int last = int.MaxValue) =>
            sections.TryGetValue(section, out var range) && file.Links.Any(l =>
                l.IsCode && l.Line >= Math.Max(range.First, first) && l.Line <= Math.Min(range.Last, last)
                && Resolve(relativePath, SplitFragment(l.Url).Target) is { } target && target.StartsWith(folder, StringComparison.Ordinal));

        if (sections.TryGetValue("The code", out var code) && !CodeLinkIn("The code", "src/"))
        {
            yield return At(file, code.First, "\"The code\" links no type or method under src/ (`[`Type.Method`](../src/…)`)");
        }
        if (sections.TryGetValue("The proof", out var proof) && !CodeLinkIn("The proof", "tests/"))
        {
            yield return At(file, proof.First, "\"The proof\" links no test under tests/");
        }
        if (sections.TryGetValue("Run it", out var run))
        {
            if (!file.Blocks.Any(b => b.Language == "sh" && b.Line >= run.First && b.Line <= run.Last))
            {
                yield return At(file, run.First, "\"Run it\" has no ```sh block with the command");
            }
            if (!file.Blocks.Any(b => b.Language == "text" && b.Line >= run.First && b.Line <= run.Last))
            {
                yield return At(file, run.First, "\"Run it\" has no ```text block with what the reader sees");
            }
        }
        if (sections.TryGetValue("Exercises", out var exercises))
        {
            var items = file.ListItems.Where(i => i.FirstLine >= exercises.First && i.FirstLine <= exercises.Last).ToList();
            if (items.Count < 2)
            {
                yield return At(file, exercises.First, $"\"Exercises\" has {items.Count} numbered exercises; a chapter has two or three");
            }
            foreach (var item in items.Where(i => !CodeLinkIn("Exercises", "tests/", i.FirstLine, i.LastLine)))
            {
                yield return At(file, item.FirstLine, "this exercise links no test under tests/ that checks its answer");
            }
        }
    }

    /// <summary>The index lists every chapter; the README links the index.</summary>
    public IEnumerable<string> CheckIndex()
    {
        const string index = "docs/README.md";
        if (!File.Exists(FullPath(index)))
        {
            yield return $"{index}: missing (the tour's index and its conventions)";
            yield break;
        }
        var linked = Markdown(index).Links.Select(l => Resolve(index, SplitFragment(l.Url).Target)).ToHashSet();
        foreach (var chapter in Chapters.Where(c => !linked.Contains(c)))
        {
            yield return $"{index}: does not list {chapter}";
        }
        if (File.Exists(FullPath("README.md")) && !Markdown("README.md").Links.Any(l => Resolve("README.md", SplitFragment(l.Url).Target) == index))
        {
            yield return $"README.md: does not link the tour ({index})";
        }
    }

    private MarkdownFile Markdown(string relativePath)
    {
        if (!_markdown.TryGetValue(relativePath, out var file))
        {
            file = MarkdownFile.Read(FullPath(relativePath), relativePath);
            _markdown[relativePath] = file;
        }
        return file;
    }

    private string FullPath(string relativePath) => Path.Combine(_root, relativePath);

    /// <summary>A link target relative to the markdown file, as a path from the root; null when it leaves the repository.</summary>
    private string? Resolve(string fromFile, string target)
    {
        var directory = Path.GetDirectoryName(FullPath(fromFile))!;
        var full = Path.GetFullPath(Path.Combine(directory, Uri.UnescapeDataString(target)));
        var relative = Path.GetRelativePath(_root, full).Replace('\\', '/');
        return relative.StartsWith("..", StringComparison.Ordinal) ? null : relative.TrimEnd('/');
    }

    private static (string Target, string? Fragment) SplitFragment(string url)
    {
        var hash = url.IndexOf('#');
        return hash < 0 ? (url, null) : (url[..hash], url[(hash + 1)..]);
    }

    /// <summary>The lines under the heading with this anchor, up to the next heading of the same or a higher level.</summary>
    private static List<string>? Section(MarkdownFile file, string slug)
    {
        var heading = file.Headings.FirstOrDefault(h => h.Slug == slug);
        if (heading is null)
        {
            return null;
        }
        var next = file.Headings.FirstOrDefault(h => h.Line > heading.Line && h.Level <= heading.Level);
        var lines = file.Text.Split('\n');
        return [.. lines.Skip(heading.Line).Take((next?.Line ?? lines.Length + 1) - heading.Line - 1)];
    }

    // `Bpe.Encode(string)` and `Bpe.Encode()` name Bpe.Encode; generic arguments are dropped.
    private static string CodeName(string text) => Regex.Replace(text.Split('(')[0], "<[^>]*>", "").Trim();

    private static IEnumerable<(string Line, int Number)> CommandLines(MarkdownBlock block)
    {
        var pending = "";
        var start = 0;
        for (var i = 0; i < block.Lines.Count; i++)
        {
            var line = block.Lines[i];
            if (pending.Length == 0)
            {
                start = block.Line + 1 + i;
            }
            if (line.TrimEnd().EndsWith('\\'))
            {
                pending += line.TrimEnd()[..^1] + " ";
                continue;
            }
            yield return (pending + line, start);
            pending = "";
        }
    }

    private static (int Index, string Text)? MissingExcerptLine(IReadOnlyList<string> excerpt, string[] source)
    {
        var position = 0;
        for (var i = 0; i < excerpt.Count; i++)
        {
            var line = excerpt[i].Trim();
            if (line.Length == 0 || line is "…" or "// …")
            {
                continue;
            }
            while (position < source.Length && source[position].Trim() != line)
            {
                position++;
            }
            if (position == source.Length)
            {
                return (i, line);
            }
            position++;
        }
        return null;
    }

    private static string At(MarkdownFile file, int line, string problem) => $"{file.RelativePath}:{line}: {problem}";

    [GeneratedRegex(@"^\d\d-[a-z0-9-]+\.md$")]
    private static partial Regex ChapterName();

    [GeneratedRegex(@"^(src|tests|bench|tools|configs|docs)/[^\s*…]+$")]
    private static partial Regex RepositoryPath();

    [GeneratedRegex(@"^[A-Z][A-Za-z0-9]*(\.[A-Za-z_][A-Za-z0-9_]*)+(\(.*\))?$")]
    private static partial Regex QualifiedName();

    // A word in capitals stands for what the reader fills in: docs/NN-name.md.
    [GeneratedRegex(@"\b[A-Z]{2,}\b")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\.(cs|md|toml|py|txt|png|csv|json|weights|dll|csproj|slnx)$")]
    private static partial Regex FileName();

    [GeneratedRegex(@"−?-?\d+(,\d{3})*(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex Figure();
}
