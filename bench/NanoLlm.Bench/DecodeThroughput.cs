using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Inference;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// <c>--decode WEIGHTS [--tokens 256] [--repeats 3]</c>: generation tokens/s in-process, without HTTP, side by side:
/// one sequence through the single-sequence cache (<see cref="Cortex.Generate"/>, what chat uses), then through the
/// batched decoder alone, with 4 and with 16 sequences at once. Medians of the repeats.
/// </summary>
public static class DecodeThroughput
{
    public static void Run(string weights, int tokens, int repeats)
    {
        var cortex = Cortex.Load(weights);
        var settings = new SamplingSettings(MaxNewTokens: tokens, Temperature: 0.8);
        Console.WriteLine($"decode: {weights}, {tokens} tokens a sequence, median of {repeats}, load average {LoadAverage()}");
        Report("single-sequence cache (chat)", 1, tokens, repeats, () => _ = string.Concat(cortex.Generate("ROMEO:", settings)));
        using var decoder = new BatchedDecoder(cortex, maxBatch: 16);
        foreach (var sequences in new[] { 1, 4, 16 })
        {
            Report($"batched decoder, {sequences} at once", sequences, tokens, repeats, () => Task.WaitAll([.. Enumerable.Range(0, sequences).Select(i => Drain(decoder.Start("ROMEO:", settings with { Seed = i })))]));
        }
        Console.WriteLine($"load average {LoadAverage()} at the end");
    }

    private static async Task Drain(Generation generation)
    {
        await foreach (var _ in generation.ReadTextAsync().ConfigureAwait(false))
        {
        }
    }

    private static void Report(string name, int sequences, int tokens, int repeats, Action run)
    {
        run();
        var rates = new List<double>();
        for (var r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            run();
            rates.Add(sequences * tokens / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} {rates[rates.Count / 2],8:F0} tokens/s  (runs: {string.Join(", ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))})"));
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
