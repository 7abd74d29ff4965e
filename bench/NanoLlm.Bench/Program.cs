using BenchmarkDotNet.Running;

namespace NanoLlm.Bench;

/// <summary>
/// Runs the micro-benchmarks: <c>--kernels [matmul|rows]</c> prints the kernels side by side with their references;
/// <c>--step</c> breaks one training step of the baby GPT down by layer (see <see cref="StepBreakdown"/>);
/// <c>--parity DIR</c> writes NanoLlm's side of <c>make parity</c> and <c>--parity-check DIR</c> reads back the PyTorch
/// twin's weights files (see <see cref="ParityDump"/>); any other arguments go to BenchmarkDotNet (e.g.
/// <c>--filter *Bpe*</c>).
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
            case ["--parity-check", var directory]:
                return ParityDump.CheckReferenceWeights(directory) == 0 ? 0 : 1;
            case ["--parity" or "--parity-check", ..]:
                Console.Error.WriteLine($"usage: NanoLlm.Bench {args[0]} DIR");
                return 2;
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }
}
