using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using NanoLlm.Data;
using NanoLlm.Interop;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// A GPT-2-124M-shaped training step (12 layers, 12 heads, C = 768, V = 50,304, batch 4 × T) in NanoLlm, LibTorch 2.10
/// (bench/NanoLlm.Bench.LibTorch) and llm.c's <c>train_gpt2.c</c>, at each thread count, one process at a time under
/// <c>/usr/bin/time -v</c> for its peak resident memory. llm.c is built here from its source with
/// <c>gcc -Ofast -march=native -fopenmp</c>, its <c>B</c>, <c>T</c> and step count set and its periodic validation and
/// sampling turned off, and run on a randomly initialized checkpoint in its format and Tiny Shakespeare's GPT-2 tokens in
/// its shard format, both written here. ms/step is the median of the timed steps after the warm-up; MFU is nanoGPT's
/// count over the peak <see cref="PeakProbe"/> measures. A peer that cannot run is a line saying how to provide it.
/// </summary>
public static partial class Gpt2Step
{
    private const int Warmup = 1;

    public sealed record Options(string Work, string Corpus, string? LibTorchDll, string? LlmcSource, IReadOnlyList<int> Threads, IReadOnlyList<int> Lengths, int Steps);

    private sealed record Row(string Implementation, int Threads, double StepMilliseconds, long PeakKib, string Note);

    public static int Run(Options options)
    {
        options = options with
        {
            Work = Path.GetFullPath(options.Work),
            Corpus = Path.GetFullPath(options.Corpus),
            LibTorchDll = options.LibTorchDll is null ? null : Path.GetFullPath(options.LibTorchDll),
            LlmcSource = options.LlmcSource is null ? null : Path.GetFullPath(options.LlmcSource),
        };
        Directory.CreateDirectory(options.Work);
        var peaks = options.Threads.ToDictionary(t => t, PeakProbe.Peak);
        Console.WriteLine($"GPT-2 124M-shaped training step; load average {PeakProbe.LoadAverage()}; peak GFLOP/s {string.Join(", ", peaks.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} thread(s) {p.Value:F1}")))}");
        var missing = new List<string>();
        if (options.LibTorchDll is null || !File.Exists(options.LibTorchDll))
        {
            missing.Add("LibTorch 2.10: not run: make bench-gpt2 builds bench/NanoLlm.Bench.LibTorch (TorchSharp-cpu from NuGet, about 1 GB) and runs tools/libtorch/prepare (patchelf, gcc)");
        }
        if (options.LlmcSource is null)
        {
            missing.Add("llm.c: not run: give LLMC=path to a checkout of github.com/karpathy/llm.c (train_gpt2.c and llmc/); it is built with gcc -Ofast -march=native -fopenmp");
        }
        else if (!File.Exists(Path.Combine(options.LlmcSource, "train_gpt2.c")))
        {
            Console.Error.WriteLine($"error: LLMC={options.LlmcSource} has no train_gpt2.c: give the root of an llm.c checkout");
            return 2;
        }
        string? llmcWork = null;
        if (options.LlmcSource is not null)
        {
            llmcWork = Path.Combine(options.Work, "llmc");
            WriteLlmcInputs(llmcWork, options.Corpus);
        }

        foreach (var length in options.Lengths)
        {
            var shape = StepShape.Named["gpt2-64"] with { Name = $"gpt2-{length}", Length = length };
            var flopsPerToken = ModelFlops.TrainingFlopsPerToken(ModelFlops.NonEmbeddingParameters(shape.CreateModel().Parameters), shape.Layers, shape.Length, shape.Channels);
            var rows = new List<Row>();
            foreach (var threads in options.Threads)
            {
                rows.Add(NanoLlmStep(options, shape, threads));
                if (options.LibTorchDll is not null && File.Exists(options.LibTorchDll))
                {
                    Peer(rows, missing, "LibTorch 2.10", threads, () => LibTorchStep(options, shape, threads));
                }
                if (llmcWork is not null)
                {
                    Peer(rows, missing, "llm.c", threads, () => LlmcStep(options, llmcWork, shape, threads));
                }
            }

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{shape}; {flopsPerToken / 1e6:F1} MFLOP a token; ms/step: median of {options.Steps} steps after {Warmup} warm-up; peak RSS: /usr/bin/time -v"));
            Console.WriteLine();
            Console.WriteLine("| implementation | threads | ms/step | tokens/s | peak RSS MiB | MFU | NanoLlm's speed-up | notes |");
            Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|---|");
            foreach (var row in rows)
            {
                var ours = rows.First(r => r.Threads == row.Threads && r.Implementation == "NanoLlm");
                var tokensPerSecond = shape.Rows / (row.StepMilliseconds / 1000);
                var mfu = ModelFlops.Utilization(flopsPerToken, tokensPerSecond, peaks[row.Threads]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {row.Implementation} | {row.Threads} | {row.StepMilliseconds:F0} | {tokensPerSecond:F0} | {row.PeakKib / 1024.0:F0} | {mfu:P1} | {row.StepMilliseconds / ours.StepMilliseconds:F2}× | {row.Note} |"));
            }
        }
        foreach (var line in missing)
        {
            Console.WriteLine(line);
        }
        Console.WriteLine($"load average after: {PeakProbe.LoadAverage()}");
        return 0;
    }

    // A peer that fails is reported with its error, and the others still run.
    private static void Peer(List<Row> rows, List<string> missing, string name, int threads, Func<Row> run)
    {
        try
        {
            rows.Add(run());
        }
        catch (InvalidOperationException e)
        {
            missing.Add($"{name}: failed at {threads} thread(s): {e.Message.Split('\n')[0]}");
            Console.Error.WriteLine(e.Message);
        }
    }

    private static Row NanoLlmStep(Options options, StepShape shape, int threads)
    {
        var self = typeof(Gpt2Step).Assembly.Location;
        var (stdout, peak) = Timed(options.Work, [DotnetHost(), self, "--step", "--shape", StepShapeKeys(shape), "--threads", $"{threads}", "--no-parts", "--seconds", "0"], []);
        var match = StepLine().Match(stdout);
        if (!match.Success)
        {
            throw new InvalidOperationException($"NanoLlm.Bench --step printed no step line:\n{stdout}");
        }
        return new Row("NanoLlm", threads, double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), peak, $"NANOLLM_THREADS={threads}, median of 3 after warm-up");
    }

    private static Row LibTorchStep(Options options, StepShape shape, int threads)
    {
        var (stdout, peak) = Timed(options.Work,
        [
            DotnetHost(), options.LibTorchDll!, "--threads", $"{threads}", "--steps", $"{options.Steps}", "--warmup", $"{Warmup}",
            "--batch", $"{shape.Batch}", "--length", $"{shape.Length}", "--channels", $"{shape.Channels}", "--layers", $"{shape.Layers}",
            "--heads", $"{shape.Heads}", "--vocab", $"{shape.Vocab}", "--context", $"{shape.Context}",
        ], new() { ["OMP_NUM_THREADS"] = $"{threads}" });
        using var result = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var root = result.RootElement;
        return new Row("LibTorch", threads, root.GetProperty("step_s").GetDouble() * 1000, peak,
            $"LibTorch {root.GetProperty("torch").GetString()} (TorchSharp), get_num_threads()={root.GetProperty("threads").GetInt32()}");
    }

    private static Row LlmcStep(Options options, string work, StepShape shape, int threads)
    {
        var binary = Path.Combine(work, $"train_gpt2_B{shape.Batch}_T{shape.Length}_S{options.Steps}");
        if (!File.Exists(binary))
        {
            var source = File.ReadAllText(Path.Combine(options.LlmcSource!, "train_gpt2.c"));
            var patched = Patch(source, "int B = 4;", $"int B = {shape.Batch};");
            patched = Patch(patched, "int T = 64;", $"int T = {shape.Length};");
            patched = Patch(patched, "step <= 40;", $"step < {Warmup + options.Steps};");
            patched = Patch(patched, "if (step % 10 == 0) {", "if (0) {");
            patched = Patch(patched, "if (step > 0 && step % 20 == 0) {", "if (0) {");
            var copy = binary + ".c";
            File.WriteAllText(copy, patched);
            var (_, _) = Timed(work, ["gcc", "-Ofast", "-march=native", "-fopenmp", "-I", Path.GetFullPath(options.LlmcSource!), copy, "-lm", "-o", binary], []);
        }
        var (stdout, peak) = Timed(work, [binary], new() { ["OMP_NUM_THREADS"] = $"{threads}" });
        var times = LlmcStepLine().Matches(stdout).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Skip(Warmup).Order().ToArray();
        if (times.Length == 0)
        {
            throw new InvalidOperationException($"train_gpt2 printed no step times:\n{stdout}");
        }
        return new Row("llm.c train_gpt2.c", threads, times[times.Length / 2], peak, $"OMP_NUM_THREADS={threads}, no gradient clipping, gcc -Ofast -march=native -fopenmp");
    }

    // gpt2_124M.bin (GPT-2 124M, randomly initialized, llm.c's float32 checkpoint) and Tiny Shakespeare in GPT-2 tokens
    // as llm.c's dev/data/tinyshakespeare shards (uint16; the first 32,768 tokens are validation, as its script does).
    private static void WriteLlmcInputs(string work, string corpus)
    {
        var checkpoint = Path.Combine(work, "gpt2_124M.bin");
        var data = Path.Combine(work, "dev", "data", "tinyshakespeare");
        Directory.CreateDirectory(data);
        if (!File.Exists(checkpoint))
        {
            var shape = new Gpt2Shape(12, 12, 768, 1024, 50_257, 4 * 768);
            var model = shape.CreateModel("bench");
            model.Initialize(new Random(1337));
            LlmcGpt2.WriteModel(checkpoint, model, shape);
        }
        var train = Path.Combine(data, "tiny_shakespeare_train.bin");
        if (!File.Exists(train))
        {
            var tokens = Tokenizer.Pretrained("gpt2").Encode(File.ReadAllText(corpus));
            const int validation = 32_768;
            WriteShard(Path.Combine(data, "tiny_shakespeare_val.bin"), tokens.AsSpan(0, validation));
            WriteShard(train, tokens.AsSpan(validation));
        }
    }

    private static void WriteShard(string path, ReadOnlySpan<int> tokens)
    {
        var bytes = new byte[ShardHeader.Bytes + (tokens.Length * sizeof(ushort))];
        new ShardHeader(sizeof(ushort), tokens.Length).WriteTo(bytes);
        for (var i = 0; i < tokens.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(ShardHeader.Bytes + (i * sizeof(ushort))), checked((ushort)tokens[i]));
        }
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static string Patch(string source, string from, string to) =>
        source.Contains(from, StringComparison.Ordinal)
            ? source.Replace(from, to, StringComparison.Ordinal)
            : throw new InvalidOperationException($"train_gpt2.c has no \"{from}\": this benchmark knows llm.c's train_gpt2.c of 2024 (B = 4, T = 64, 40 steps)");

    private static string StepShapeKeys(StepShape shape) => string.Create(CultureInfo.InvariantCulture,
        $"layers={shape.Layers},channels={shape.Channels},heads={shape.Heads},length={shape.Length},batch={shape.Batch},vocab={shape.Vocab},context={shape.Context}");

    private static string DotnetHost() => Environment.ProcessPath ?? "dotnet";

    // Runs the command under /usr/bin/time -v in the folder; its stdout and its peak resident memory in KiB.
    private static (string Stdout, long PeakKib) Timed(string folder, IReadOnlyList<string> command, Dictionary<string, string> environment)
    {
        var log = Path.GetFullPath(Path.Combine(folder, "time.log"));
        var start = new ProcessStartInfo("/usr/bin/time") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-v", "-o", log }.Concat(command))
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} exited with {process.ExitCode}:\n{stderr.Result}");
        }
        var peak = PeakLine().Match(File.ReadAllText(log));
        return (stdout, peak.Success ? long.Parse(peak.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }

    [GeneratedRegex(@"threads=\d+: ([\d.]+) ms/step")]
    private static partial Regex StepLine();

    [GeneratedRegex(@"\(took ([\d.]+) ms\)")]
    private static partial Regex LlmcStepLine();

    [GeneratedRegex(@"Maximum resident set size \(kbytes\): (\d+)")]
    private static partial Regex PeakLine();
}
