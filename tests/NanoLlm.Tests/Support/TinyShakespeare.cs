namespace NanoLlm.Tests.Support;

/// <summary>
/// Where the tests find Tiny Shakespeare: the NANOLLM_TINYSHAKESPEARE environment variable, which <c>make test</c>
/// sets from DATA_SOURCE (or data/tinyshakespeare.txt). A test that needs it fails, never skips, when it is missing.
/// </summary>
public static class TinyShakespeare
{
    public const string Variable = "NANOLLM_TINYSHAKESPEARE";

    public static string Path
    {
        get
        {
            var path = Environment.GetEnvironmentVariable(Variable);
            Assert.True(
                !string.IsNullOrEmpty(path) && File.Exists(path),
                $"Tiny Shakespeare not found ({Variable}={path}): run the tests with make test DATA_SOURCE=path/to/tinyshakespeare.txt, or make data first");
            return path!;
        }
    }
}
