using NanoLlm.Config;

namespace NanoLlm.DocsTests.Support;

/// <summary>A shipped run file, loaded as the train program loads it, with its weights sent to a temporary folder.</summary>
public sealed class ShippedRun : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("nanollm-docs-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public RunConfig Load(string config, params string[] overrides) =>
        RunConfigLoader.Load(
            Repository.PathOf(config),
            [$"training.corpus={Repository.PathOf("configs/corpus.txt")}", $"weights.path={Path.Combine(_folder, "model.weights")}", .. overrides]);
}
