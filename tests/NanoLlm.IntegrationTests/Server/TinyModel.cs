using NanoLlm.Config;
using NanoLlm.Training;

namespace NanoLlm.IntegrationTests.Server;

/// <summary>A small GPT trained in a second or two on one repeated line, saved with the run file that names it.</summary>
public sealed class TinyModel : IDisposable
{
    public const string ModelId = "tiny";

    private const string Run = """
        [model]
        name = "gpt"
        context_length = 32
        embedding_size = 32
        layers = 2
        heads = 2

        [training]
        corpus = "{folder}/corpus.txt"
        steps = 60
        batch_size = 8
        optimizer = "adamw"
        learning_rate = 1e-2
        val_fraction = 0

        [weights]
        path = "{folder}/tiny.weights"

        [sampling]
        max_new_tokens = 24
        temperature = 0.8

        [server]
        port = 0
        max_tokens = 100000
        """;

    private readonly TempFolder _folder = new();

    public TinyModel()
    {
        _folder.Write("corpus.txt", string.Concat(Enumerable.Repeat("To be, or not to be: that is the question.\n", 40)));
        RunFile = _folder.Write("run.toml", Run.Replace("{folder}", _folder.Path, StringComparison.Ordinal));
        Config = RunConfigLoader.Load(RunFile);
        (Cortex, _) = Cortex.Train(Config, null, CancellationToken.None);
    }

    public string Folder => _folder.Path;

    public string RunFile { get; }

    public RunConfig Config { get; }

    public Cortex Cortex { get; }

    public string WeightsPath => Config.Weights.Path;

    /// <summary>The run file with other <c>[server]</c> settings.</summary>
    public RunConfig With(ServerSettings server) => Config with { Server = server };

    public void Dispose() => _folder.Dispose();
}
