namespace NanoLlm.Bench;

/// <summary>Where benchmarks find the Tiny Shakespeare corpus: the <c>NANOLLM_TINYSHAKESPEARE</c> setting.</summary>
public static class BenchData
{
    public const string TinyShakespeareVariable = "NANOLLM_TINYSHAKESPEARE";

    public static byte[] TinyShakespeare()
    {
        var path = Environment.GetEnvironmentVariable(TinyShakespeareVariable);
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"Tiny Shakespeare not found: set {TinyShakespeareVariable} to the path of tinyshakespeare.txt " +
                "(make bench does this from DATA_SOURCE, e.g. make bench DATA_SOURCE=../shared/data/tinyshakespeare.txt).");
        }
        return File.ReadAllBytes(path);
    }
}
