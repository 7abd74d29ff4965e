using System.Globalization;
using BenchmarkDotNet.Running;
using NanoLlm.Storage;

namespace NanoLlm.Bench;

/// <summary>
/// Runs the micro-benchmarks: <c>--kernels [matmul|rows]</c> prints the kernels side by side with their references;
/// <c>--step</c> breaks one training step of the baby GPT down by layer (see <see cref="StepBreakdown"/>);
/// <c>--parity DIR</c> writes NanoLlm's side of <c>make parity</c> and <c>--parity-check DIR</c> reads back the PyTorch
/// twin's weights files (see <see cref="ParityDump"/>); <c>--logits-check WEIGHTS BATCH</c> and
/// <c>--same-weights A B</c> are NanoLlm's checks in <c>make scale-out-check</c> (see <see cref="ScaleOutCheck"/>);
/// <c>--shuffled-corpus DIR MEGABYTES SEED</c> and <c>--encode-speed TOKENIZER_DIR CORPUS MEGABYTES</c> are the
/// large-corpus benchmark's (see <see cref="ShardBench"/>); any other arguments go to BenchmarkDotNet (e.g. <c>--filter *Bpe*</c>).
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
            case ["--step"]:
                StepBreakdown.Run();
                return 0;
            case ["--parity", var directory]:
                ParityDump.Run(directory);
                return 0;
            case ["--shuffled-corpus", var directory, var megabytes, var seed]:
                ShardBench.ShuffledCorpus(directory, long.Parse(megabytes, CultureInfo.InvariantCulture), int.Parse(seed, CultureInfo.InvariantCulture));
                return 0;
            case ["--encode-speed", var tokenizer, var corpus, var megabytes]:
                ShardBench.EncodeSpeed(tokenizer, corpus, int.Parse(megabytes, CultureInfo.InvariantCulture));
                return 0;
            case ["--parity-check", var directory]:
                return ParityDump.CheckReferenceWeights(directory) == 0 ? 0 : 1;
            case ["--logits-check", var weights, var batch]:
                return Check(() => ScaleOutCheck.Logits(weights, batch));
            case ["--same-weights", var original, var roundTrip]:
                return Check(() => ScaleOutCheck.SameWeights(original, roundTrip));
            case ["--logits-check", ..]:
                Console.Error.WriteLine("usage: NanoLlm.Bench --logits-check WEIGHTS BATCH");
                return 2;
            case ["--same-weights", ..]:
                Console.Error.WriteLine("usage: NanoLlm.Bench --same-weights ORIGINAL ROUND_TRIP");
                return 2;
            case ["--parity" or "--parity-check", ..]:
                Console.Error.WriteLine($"usage: NanoLlm.Bench {args[0]} DIR");
                return 2;
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }

    // 0 when the check held, 1 when it did not, 2 when a file could not be read.
    private static int Check(Func<bool> check)
    {
        try
        {
            return check() ? 0 : 1;
        }
        catch (WeightsFileException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
