using NanoLlm.Fuzz;

namespace NanoLlm.IntegrationTests.Fuzz;

/// <summary>
/// Every fuzz target on its seeds and on each input fuzzing found that broke its contract (saved under
/// FuzzRegressions/TARGET/ once fixed): the fuzzer's contract as an ordinary test, so a regression fails CI
/// without afl-fuzz.
/// </summary>
public sealed class FuzzReplayTests
{
    /// <summary>How long one small input may take here, on a shared machine; afl-fuzz's own limit is 1 s.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Seeds_and_saved_findings_keep_the_contract(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var inputs = target.Seeds().Concat(SavedFindings(name)).ToList();

        foreach (var (input, bytes) in inputs)
        {
            try
            {
                await Task.Run(() => target.Check(bytes)).WaitAsync(Limit);
            }
            catch (Exception e)
            {
                Assert.Fail($"{name} {input}: {e}");
            }
        }
        Assert.NotEmpty(inputs);
    }

    [Fact]
    public void Every_saved_finding_belongs_to_a_target()
    {
        var folders = Directory.GetDirectories(FindingsFolder).Select(Path.GetFileName);

        Assert.All(folders, folder => Assert.NotNull(FuzzTargets.Find(folder!)));
    }

    [Fact]
    public void Make_fuzz_accepts_every_target()
    {
        var script = File.ReadAllLines(Path.Combine(ProgramRunner.RepositoryRoot, "tools", "fuzz", "run"));
        var listed = script.Single(line => line.StartsWith("targets=\"", StringComparison.Ordinal))["targets=\"".Length..].TrimEnd('"').Split(' ');

        Assert.Equal(FuzzTargets.All.Select(t => t.Name).Order(), listed.Order());
    }

    private static string FindingsFolder => Path.Combine(ProgramRunner.RepositoryRoot, "tests", "NanoLlm.IntegrationTests", "FuzzRegressions");

    private static IEnumerable<(string Name, byte[] Bytes)> SavedFindings(string target)
    {
        var folder = Path.Combine(FindingsFolder, target);
        return Directory.Exists(folder)
            ? Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(path => (Path.GetFileName(path), File.ReadAllBytes(path)))
            : [];
    }
}
