using BenchmarkDotNet.Running;

namespace NanoLlm.Bench;

/// <summary>Runs the micro-benchmarks; arguments go to BenchmarkDotNet (e.g. <c>--filter *Bpe*</c>).</summary>
public static class Program
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
