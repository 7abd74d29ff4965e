using System.Text.RegularExpressions;

namespace NanoLlm.DocsTests.Checker;

/// <summary>The targets and variables a Makefile declares: what <c>make TARGET NAME=value</c> may name.</summary>
public sealed partial class Makefile
{
    private readonly Dictionary<string, string> _values;
    private readonly Dictionary<string, List<string>> _recipes;

    private Makefile(IReadOnlySet<string> targets, IReadOnlySet<string> variables, Dictionary<string, string> values, Dictionary<string, List<string>> recipes)
    {
        Targets = targets;
        Variables = variables;
        _values = values;
        _recipes = recipes;
    }

    /// <summary>Rule targets (<c>name:</c> at the start of a line), special targets such as .PHONY left out.</summary>
    public IReadOnlySet<string> Targets { get; }

    /// <summary>Variables assigned (<c>NAME ?= …</c>, <c>NAME = …</c>) or read (<c>$(NAME)</c>) anywhere in the file.</summary>
    public IReadOnlySet<string> Variables { get; }

    /// <summary>
    /// The program a target runs: the first <c>.dll</c> its recipe names (through one level of variables), as a
    /// project folder such as <c>src/NanoLlm.Train</c>; null when it runs none.
    /// </summary>
    public string? ProgramOf(string target)
    {
        foreach (var line in _recipes.GetValueOrDefault(target) ?? [])
        {
            var expanded = VariableReference().Replace(line, m => _values.GetValueOrDefault(m.Groups[1].Value, m.Value));
            var dll = ProgramDll().Match(expanded);
            if (dll.Success)
            {
                return dll.Groups[1].Value;
            }
        }
        return null;
    }

    public static Makefile Read(string path)
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        var variables = new HashSet<string>(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var recipes = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? recipe = null;
        foreach (var line in File.ReadLines(path))
        {
            variables.UnionWith(VariableReference().Matches(line).Select(m => m.Groups[1].Value));
            if (line.StartsWith('\t'))
            {
                recipe?.Add(line);
                continue;
            }
            if (line.TrimStart().StartsWith('#'))
            {
                continue;
            }
            var assignment = Assignment().Match(line);
            if (assignment.Success)
            {
                variables.Add(assignment.Groups[1].Value);
                values[assignment.Groups[1].Value] = line[assignment.Length..].Trim();
                continue;
            }
            var rule = Rule().Match(line);
            if (rule.Success)
            {
                recipe = [];
                foreach (var target in rule.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => !t.StartsWith('.')))
                {
                    targets.Add(target);
                    recipes[target] = recipe;
                }
            }
        }
        return new Makefile(targets, variables, values, recipes);
    }

    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|::=|\+=|=)")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"^([A-Za-z0-9_.\- ]+):(?!=)")]
    private static partial Regex Rule();

    [GeneratedRegex(@"((?:src|bench)/[A-Za-z0-9_.]+)/bin/\S*\.dll")]
    private static partial Regex ProgramDll();

    [GeneratedRegex(@"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")]
    private static partial Regex VariableReference();
}
