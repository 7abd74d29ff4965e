using BenchmarkDotNet.Running;

namespace NanoLlm.Bench;

/// <summary>
/// Runs the micro-benchmarks: <c>--kernels [matmul|rows]</c> prints the kernels side by side with their references;
/// any other arguments go to BenchmarkDotNet (e.g. <c>--filter *Bpe*</c>).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--kernels")
        {
            KernelComparison.Run(args.Length > 1 ? args[1] : "");
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
