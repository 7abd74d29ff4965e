namespace NanoLlm.Config;

/// <summary>
/// The programs' shared arguments: <c>CONFIG [--set section.key=value …] [--verbose]</c>, plus the options a program
/// declares (e.g. chat's <c>--prompt TEXT</c>). Bad usage is a <see cref="ConfigException"/> (exit code 2).
/// </summary>
public sealed record CommandLine(string ConfigPath, IReadOnlyList<string> Overrides, bool Verbose, IReadOnlyDictionary<string, string> Options)
{
    /// <param name="valueOptions">Options that take a value, e.g. <c>--prompt</c>.</param>
    public static CommandLine Parse(IReadOnlyList<string> args, string usage, params string[] valueOptions)
    {
        string? configPath = null;
        var overrides = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var verbose = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--verbose")
            {
                verbose = true;
            }
            else if (arg == "--set" || Array.IndexOf(valueOptions, arg) >= 0)
            {
                if (i + 1 >= args.Count)
                {
                    throw new ConfigException($"{arg} needs a value. Usage: {usage}");
                }
                if (arg == "--set")
                {
                    overrides.Add(args[++i]);
                }
                else
                {
                    options[arg] = args[++i];
                }
            }
            else if (arg.StartsWith("--", StringComparison.Ordinal) || configPath is not null)
            {
                throw new ConfigException($"unexpected argument {arg}. Usage: {usage}");
            }
            else
            {
                configPath = arg;
            }
        }
        return configPath is null
            ? throw new ConfigException($"no run file given. Usage: {usage}")
            : new CommandLine(configPath, overrides, verbose, options);
    }
}
