namespace NanoLlm.Tool;

/// <summary>
/// <c>nanollm train|chat|serve|tokenize CONFIG …</c>: each verb runs the program of that name with the arguments that
/// follow it, so options, output and exit codes are the programs' own. No verb or an unknown one exits 2 with the usage.
/// </summary>
public static class Program
{
    private const string Usage = "nanollm train|chat|serve|tokenize CONFIG [options] (a verb alone prints its own usage)";

    // One entry a verb: the program's entry point.
    private static readonly Dictionary<string, Func<string[], int>> Verbs = new(StringComparer.Ordinal)
    {
        ["train"] = Train.Program.Main,
        ["chat"] = Chat.Program.Main,
        ["serve"] = args => Server.Program.Main(args).GetAwaiter().GetResult(),
        ["tokenize"] = Tokenize.Program.Main,
    };

    public static int Main(string[] args)
    {
        if (args is ["--help" or "-h"])
        {
            Console.Out.WriteLine($"usage: {Usage}");
            return 0;
        }
        if (args.Length == 0 || !Verbs.TryGetValue(args[0], out var verb))
        {
            Console.Error.WriteLine(args.Length == 0 ? $"error: no verb given. Usage: {Usage}" : $"error: unknown verb {args[0]}. Usage: {Usage}");
            return 2;
        }
        return verb(args[1..]);
    }
}
