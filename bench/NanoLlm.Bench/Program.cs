using BenchmarkDotNet.Running;

namespace NanoLlm.Bench;

/// <summary>
/// Runs the micro-benchmarks: <c>--kernels [matmul|rows]</c> prints the kernels side by side with their references;
/// <c>--parity DIR</c> writes NanoLlm's side of <c>make parity</c> (see <see cref="ParityDump"/>); any other
/// arguments go to BenchmarkDotNet (e.g. <c>--filter *Bpe*</c>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--kernels")
        {
            KernelComparison.Run(args.Length > 1 ? args[1] : "");
            return 0;
        }
        if (args.Length > 0 && args[0] == "--parity")
        {
            if (args.Length != 2)
            {
                Console.Error.WriteLine("usage: NanoLlm.Bench --parity OUT_DIR");
                return 2;
            }
            ParityDump.Run(args[1]);
            return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
