using System.Globalization;
using BenchmarkDotNet.Running;
using NanoLlm.Config;
using NanoLlm.Storage;

namespace NanoLlm.Bench;

/// <summary>
/// Runs the micro-benchmarks: <c>--kernels [matmul|rows]</c> prints the kernels side by side with their references;
/// <c>--gpt2-generation</c> times generation on a GPT-2-124M-shaped model against the memory-bandwidth limit (see
/// <see cref="Gpt2Generation"/>); <c>--step [--shape SHAPE | --config RUN_FILE] [--threads 1,2] [--seconds S] [--no-parts]</c> breaks one training step of a GPT down by part at each
/// thread count, with its MFU (see <see cref="StepBreakdown"/>, <see cref="StepShape"/>);
/// <c>--step-products [--shape SHAPE] [--threads 1,2]</c> times each matrix product of that step alone (see <see cref="StepProducts"/>);
/// <c>--gpt2-step [--corpus PATH] [--libtorch DLL] [--llmc DIR] [--threads 1,2] [--lengths 64,1024] [--steps N]</c> times a
/// GPT-2-124M-shaped training step against LibTorch 2.10 and llm.c (see <see cref="Gpt2Step"/>);
/// <c>--peak</c> measures this machine's FMA peak at each vector width on 1 and 2 threads (see <see cref="PeakProbe"/>);
/// <c>--diagnostics CONFIG</c> times a training step against the diagnostics measured every 100 steps (see <see cref="DiagnosticsCost"/>);
/// <c>--parity DIR</c> writes NanoLlm's side of <c>make parity</c> and <c>--parity-check DIR</c> reads back the PyTorch
/// twin's weights files (see <see cref="ParityDump"/>); <c>--muon-parity DIR</c> writes NanoLlm's side of
/// <c>make muon-parity</c> (see <see cref="MuonParityDump"/>); <c>--logits-check WEIGHTS BATCH</c> and
/// <c>--same-weights A B</c> are NanoLlm's checks in <c>make scale-out-check</c> (see <see cref="ScaleOutCheck"/>);
/// <c>--llmc-loss-inputs DIR CORPUS</c> and <c>--llmc-loss DIR LLMC_SOURCE</c> are <c>make llmc-loss</c>'s (see <see cref="LlmcLoss"/>);
/// <c>--serve-load CONFIG --server DLL …</c> load-tests the server (see <see cref="ServeLoad"/>) and <c>--decode WEIGHTS</c>
/// measures generation in-process, one sequence and batched (see <see cref="DecodeThroughput"/>);
/// any other arguments go to BenchmarkDotNet (e.g. <c>--filter *Bpe*</c>).
/// <c>--shuffled-corpus DIR MEGABYTES SEED</c> and <c>--prepare-speed TOKENIZER CORPUS OUTPUT [--encode-mb N] [--threads 1,2]</c>
/// are the large-corpus benchmark's (see <see cref="ShardBench"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["--kernels", .. var which]:
                KernelComparison.Run(which.Length > 0 ? which[0] : "");
                return 0;
            case ["--gpt2-generation"]:
                Gpt2Generation.Run([1, 2]);
                return 0;
            case ["--gpt2-step", .. var options]:
                return Gpt2Step.Run(new Gpt2Step.Options(
                    Option(options, "--work", "bin/bench-gpt2"), Option(options, "--corpus", "data/tinyshakespeare.txt"),
                    options.Contains("--libtorch") ? Option(options, "--libtorch", "") : null,
                    options.Contains("--llmc") ? Option(options, "--llmc", "") : null,
                    Threads(options),
                    [.. Option(options, "--lengths", "64,1024").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture))],
                    int.Parse(Option(options, "--steps", "3"), CultureInfo.InvariantCulture)));
            case ["--peak"]:
                PeakProbe.Run();
                return 0;
            case ["--step", .. var options]:
                return Shaped(options, shape => StepBreakdown.Run(
                    shape, Threads(options), double.Parse(Option(options, "--seconds", "3"), CultureInfo.InvariantCulture), !options.Contains("--no-parts")));
            case ["--step-products", .. var options]:
                return Shaped(options, shape => StepProducts.Run(shape, Threads(options)));
            case ["--diagnostics", var config]:
                DiagnosticsCost.Run(config);
                return 0;
            case ["--parity", var directory]:
                ParityDump.Run(directory);
                return 0;
            case ["--muon-parity", var directory]:
                MuonParityDump.Run(directory);
                return 0;
            case ["--shuffled-corpus", var directory, var megabytes, var seed]:
                ShardBench.ShuffledCorpus(directory, long.Parse(megabytes, CultureInfo.InvariantCulture), int.Parse(seed, CultureInfo.InvariantCulture));
                return 0;
            case ["--prepare-speed", var tokenizer, var corpus, var output, .. var options]:
                return ShardBench.PrepareSpeed(
                    tokenizer, corpus, output, int.Parse(Option(options, "--encode-mb", "256"), CultureInfo.InvariantCulture), Threads(options));
            case ["--parity-check", var directory]:
                return ParityDump.CheckReferenceWeights(directory) == 0 ? 0 : 1;
            case ["--logits-check", var weights, var batch]:
                return Check(() => ScaleOutCheck.Logits(weights, batch));
            case ["--same-weights", var original, var roundTrip]:
                return Check(() => ScaleOutCheck.SameWeights(original, roundTrip));
            case ["--llmc-loss-inputs", var work, var corpus]:
                return Check(() =>
                {
                    LlmcLoss.WriteInputs(work, corpus);
                    return true;
                });
            case ["--llmc-loss", var work, var llmcSource]:
                return ExitCode(() => LlmcLoss.Compare(work, llmcSource));
            case ["--serve-load", var config, "--server", var serverDll, .. var options]:
                return ServeLoad.Run(
                    config, serverDll,
                    [.. Option(options, "--clients", "1,4,16").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))],
                    double.Parse(Option(options, "--seconds", "20"), CultureInfo.InvariantCulture),
                    int.Parse(Option(options, "--max-tokens", "128"), CultureInfo.InvariantCulture));
            case ["--decode", var weights, .. var options]:
                DecodeThroughput.Run(
                    weights,
                    int.Parse(Option(options, "--tokens", "256"), CultureInfo.InvariantCulture),
                    int.Parse(Option(options, "--repeats", "3"), CultureInfo.InvariantCulture));
                return 0;
            case ["--serve-load", ..]:
                Console.Error.WriteLine("usage: NanoLlm.Bench --serve-load CONFIG --server SERVER_DLL [--clients 1,4,16] [--seconds 20] [--max-tokens 128]");
                return 2;
            case ["--logits-check", ..]:
                Console.Error.WriteLine("usage: NanoLlm.Bench --logits-check WEIGHTS BATCH");
                return 2;
            case ["--llmc-loss-inputs" or "--llmc-loss", ..]:
                Console.Error.WriteLine("usage: NanoLlm.Bench --llmc-loss-inputs DIR CORPUS | --llmc-loss DIR LLMC_SOURCE");
                return 2;
            case ["--same-weights", ..]:
                Console.Error.WriteLine("usage: NanoLlm.Bench --same-weights ORIGINAL ROUND_TRIP");
                return 2;
            case ["--parity" or "--parity-check" or "--muon-parity", ..]:
                Console.Error.WriteLine($"usage: NanoLlm.Bench {args[0]} DIR");
                return 2;
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }

    // The run file of --config, or the shape named by --shape (baby when both are absent); a bad one is a one-line
    // error and exit code 2.
    private static int Shaped(string[] options, Action<StepShape> run)
    {
        StepShape shape;
        try
        {
            shape = options.Contains("--config") ? StepShape.FromRunFile(Option(options, "--config", "")) : StepShape.Parse(Option(options, "--shape", "baby"));
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        run(shape);
        return 0;
    }

    private static int[] Threads(string[] options) =>
        [.. Option(options, "--threads", "1,2").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture))];

    private static string Option(string[] options, string name, string defaultValue)
    {
        var at = Array.IndexOf(options, name);
        return at >= 0 && at + 1 < options.Length ? options[at + 1] : defaultValue;
    }

    // 0 when the check held, 1 when it did not, 2 when a file could not be read.
    private static int Check(Func<bool> check) => ExitCode(() => check() ? 0 : 1);

    // The run's exit code, or 2 with one line when a file could not be read.
    private static int ExitCode(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (WeightsFileException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
