using SharpFuzz;

namespace NanoLlm.Fuzz;

/// <summary>
/// <c>NanoLlm.Fuzz TARGET</c>: the target under afl-fuzz (SharpFuzz's fork server; outside afl-fuzz, one input from
/// stdin). <c>NanoLlm.Fuzz TARGET FILE…</c>: each file through the target's contract, one line each, exit 1 if any
/// breaks it. <c>NanoLlm.Fuzz --seeds FOLDER</c>: every target's seeds under FOLDER/TARGET/. <c>--list</c>: the targets.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["--list"]:
                Console.WriteLine(string.Join('\n', FuzzTargets.All.Select(t => t.Name)));
                return 0;
            case ["--seeds", var folder]:
                Seeds.WriteAll(folder, FuzzTargets.All);
                return 0;
            case [var name, ..] when FuzzTargets.Find(name) is { } target:
                if (args.Length == 1)
                {
                    Fuzzer.Run(stream =>
                    {
                        using var buffer = new MemoryStream();
                        stream.CopyTo(buffer);
                        target.Check(buffer.ToArray());
                    });
                    return 0;
                }
                return Replay(target, args[1..]);
            default:
                Console.Error.WriteLine($"usage: NanoLlm.Fuzz TARGET [FILE...] | --seeds FOLDER | --list; the targets are {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}");
                return 2;
        }
    }

    private static int Replay(FuzzTarget target, string[] files)
    {
        var broken = 0;
        foreach (var file in files)
        {
            try
            {
                target.Check(File.ReadAllBytes(file));
                Console.WriteLine($"{file}: ok");
            }
            catch (Exception e)
            {
                broken++;
                Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
                Console.Error.WriteLine(e);
            }
        }
        return broken == 0 ? 0 : 1;
    }
}
