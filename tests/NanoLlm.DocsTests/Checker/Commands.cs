using System.Text;
using System.Text.RegularExpressions;
using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.DocsTests.Checker;

/// <summary>
/// Checks the commands a reader is told to type: <c>make TARGET NAME=value …</c> against the Makefile, a program's
/// options against the literals of its <c>Program.cs</c>, <c>--set</c> keys and <c>CONFIG</c> run files by loading them
/// as the program would, and <c>dotnet test PROJECT --filter NAME</c> against the test projects.
/// </summary>
public sealed partial class Commands
{
    private readonly string _root;
    private readonly Makefile _makefile;
    private readonly CodeIndex _code;

    public Commands(string root, CodeIndex code)
    {
        _root = root;
        _code = code;
        _makefile = Makefile.Read(Path.Combine(root, "Makefile"));
    }

    /// <summary>
    /// Whether a line is a command the checker knows: after an optional <c>$ </c> prompt and <c>NAME=value</c>
    /// environment assignments, its first word is <c>make</c> or <c>dotnet</c>.
    /// </summary>
    public static bool IsCommand(string line)
    {
        var words = Words(StripPrompt(line));
        return words.SkipWhile(IsEnvironmentAssignment).FirstOrDefault() is "make" or "dotnet";
    }

    /// <summary>The problems of one command line (several when it chains commands with &amp;&amp;); none when it is sound.</summary>
    public IEnumerable<string> Check(string line)
    {
        foreach (var part in StripPrompt(line).Split("&&"))
        {
            var words = Words(part).SkipWhile(IsEnvironmentAssignment).ToList();
            var problems = words switch
            {
                ["make", .. var rest] => CheckMake(rest),
                ["dotnet", .. var rest] => CheckDotnet(rest),
                [] => [],
                _ => [$"`{part.Trim()}` is not a make or dotnet command"],
            };
            foreach (var problem in problems)
            {
                yield return problem;
            }
        }
    }

    private IEnumerable<string> CheckMake(List<string> words)
    {
        var assignments = new Dictionary<string, string>(StringComparer.Ordinal);
        var targets = new List<string>();
        foreach (var word in words)
        {
            if (word.StartsWith('-') || IsPlaceholder(word))
            {
                continue;
            }
            var equals = word.IndexOf('=');
            if (equals > 0)
            {
                var name = word[..equals];
                if (!_makefile.Variables.Contains(name))
                {
                    yield return $"make variable {name} is not in the Makefile";
                }
                assignments[name] = word[(equals + 1)..];
            }
            else if (!_makefile.Targets.Contains(word))
            {
                yield return $"make target {word} is not in the Makefile (its targets: {string.Join(", ", _makefile.Targets.Order(StringComparer.Ordinal))})";
            }
            else
            {
                targets.Add(word);
            }
        }

        var config = assignments.GetValueOrDefault("CONFIG");
        var arguments = assignments.TryGetValue("ARGS", out var args) ? Words(args) : [];
        var program = targets.Select(_makefile.ProgramOf).FirstOrDefault(p => p is not null);
        if (arguments.Count > 0 && program is null)
        {
            yield return $"ARGS is given but make {string.Join(' ', targets)} runs no program";
        }
        foreach (var problem in CheckProgram(program, config, arguments))
        {
            yield return problem;
        }
    }

    private IEnumerable<string> CheckDotnet(List<string> words)
    {
        switch (words)
        {
            case []:
                return [];
            case ["test", .. var rest]:
                return CheckTest(rest);
            case ["build" or "format" or "run", .. var rest]:
                return CheckPaths(rest.Where(w => !w.StartsWith('-')).Take(1));
            case [var dll, .. var rest] when dll.EndsWith(".dll", StringComparison.Ordinal):
                var project = Regex.Match(dll, @"^((?:src|bench)/[A-Za-z0-9_.]+)/bin/");
                if (!project.Success)
                {
                    return [$"{dll} is not a program of this repository (src/NAME/bin/…/NAME.dll)"];
                }
                return CheckProgram(project.Groups[1].Value, rest.FirstOrDefault(w => w.EndsWith(".toml", StringComparison.Ordinal)), rest);
            default:
                return [$"dotnet {string.Join(' ', words)}: the checker knows dotnet test, build, format, run and program DLLs"];
        }
    }

    private IEnumerable<string> CheckTest(List<string> words)
    {
        var project = words.FirstOrDefault(w => !w.StartsWith('-'));
        foreach (var problem in CheckPaths(project is null ? [] : [project]))
        {
            yield return problem;
        }
        var filterAt = words.IndexOf("--filter");
        if (filterAt >= 0 && filterAt + 1 < words.Count)
        {
            var tests = _code.AllFiles.Where(f => f.StartsWith("tests/", StringComparison.Ordinal)).ToList();
            foreach (var condition in words[filterAt + 1].Split('|', '&'))
            {
                var name = Regex.Replace(condition, @"^[A-Za-z]+(~|=|!=|!~)", "");
                var lastTwo = string.Join('.', name.Split('.').TakeLast(2));
                if (!IsPlaceholder(name) && !_code.FilesDeclaring(name.Split('.')[^1], tests).Any() && !_code.FilesDeclaring(lastTwo, tests).Any())
                {
                    yield return $"--filter {condition}: no test class or method named {name} under tests/";
                }
            }
        }
    }

    private IEnumerable<string> CheckPaths(IEnumerable<string> paths) =>
        paths.Where(p => !IsPlaceholder(p) && !File.Exists(Path.Combine(_root, p)) && !Directory.Exists(Path.Combine(_root, p)))
            .Select(p => $"{p} does not exist");

    /// <summary>
    /// A program's arguments: each <c>--option</c> must appear in a string literal of its <c>Program.cs</c> (its usage
    /// line, or the literal it compares arguments with); a run file must exist and load with the <c>--set</c>
    /// overrides given, its model built as the program builds it, so a misspelt key fails here as it would there.
    /// </summary>
    private IEnumerable<string> CheckProgram(string? project, string? config, List<string> arguments)
    {
        var overrides = new List<string>();
        if (project is not null)
        {
            var programFile = $"{project}/Program.cs";
            if (!File.Exists(Path.Combine(_root, programFile)))
            {
                yield return $"{programFile} does not exist";
                yield break;
            }
            var options = _code.StringLiterals(programFile).SelectMany(l => OptionName().Matches(l).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
            for (var i = 0; i < arguments.Count; i++)
            {
                var argument = arguments[i];
                if (OptionName().Match(argument) is { Success: true } option && option.Value == argument && !options.Contains(argument))
                {
                    yield return $"{argument} is not an option of {project} (its options: {string.Join(", ", options.Order(StringComparer.Ordinal))})";
                }
                if (argument == "--set" && i + 1 < arguments.Count && !IsPlaceholder(arguments[i + 1]))
                {
                    overrides.Add(arguments[++i]);
                }
            }
        }
        if (config is null || IsPlaceholder(config))
        {
            yield break;
        }
        var path = Path.Combine(_root, config);
        if (!File.Exists(path))
        {
            yield return $"run file {config} does not exist";
            yield break;
        }
        string? error = null;
        try
        {
            var run = RunConfigLoader.Load(path, overrides);
            // A run that starts from a weights file (init_from) takes its model from that file, which is not here.
            if (run.Training.InitFrom is null)
            {
                ModelRegistry.Create(run.Model.Name, run.Model.VocabSize, run.Model.Hyperparameters);
            }
        }
        catch (ConfigException e)
        {
            error = e.Message.Replace(path, config, StringComparison.Ordinal);
        }
        if (error is not null)
        {
            yield return $"{config} with {string.Join(' ', overrides.Select(o => "--set " + o))}: {error}";
        }
    }

    private static string StripPrompt(string line) => line.TrimStart().StartsWith("$ ", StringComparison.Ordinal) ? line.TrimStart()[2..] : line;

    private static bool IsEnvironmentAssignment(string word) => EnvironmentAssignment().IsMatch(word);

    // Placeholders stand for what the reader fills in: "…", "...", CONFIG, TEXT.
    private static bool IsPlaceholder(string word) =>
        word.Contains('…') || word.Contains("...", StringComparison.Ordinal) || Placeholder().IsMatch(word);

    /// <summary>The words of a command line as a POSIX shell splits them: quotes group and are removed; a # starts a comment.</summary>
    public static List<string> Words(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var character in line)
        {
            if (quote is not null)
            {
                if (character == quote)
                {
                    quote = null;
                }
                else
                {
                    word.Append(character);
                }
            }
            else if (character is '\'' or '"')
            {
                quote = character;
                inWord = true;
            }
            else if (char.IsWhiteSpace(character) || character is '[' or ']')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else if (character == '#' && !inWord)
            {
                break;
            }
            else
            {
                word.Append(character);
                inWord = true;
            }
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        return [.. words.Where(w => w != "|")];
    }

    [GeneratedRegex(@"^[A-Z_][A-Z0-9_]*=")]
    private static partial Regex EnvironmentAssignment();

    [GeneratedRegex(@"^[A-Z][A-Z_]*$")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"--[a-z][a-z-]*")]
    private static partial Regex OptionName();
}
