using BenchmarkDotNet.Attributes;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Bench;

/// <summary>
/// Generation speed of the baby GPT (4 layers, 4 heads, C = 128, context 64, V = 256) on one thread: 64 tokens with
/// the key/value cache (one position's work per token) against 64 tokens each recomputing a full forward pass over
/// the window so far, as generation without a cache must. Tokens per second = 64 / the time of one operation.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 20)]
public class GenerationBenchmarks
{
    public const int Tokens = 64;

    private GptModel _model = null!;
    private readonly int[] _window = new int[Tokens];
    private readonly int[] _targets = new int[Tokens];
    private KernelSettings.Scope _singleThread;

    [GlobalSetup]
    public void Setup()
    {
        _singleThread = KernelSettings.Override(KernelSettings.HardwareVectorWidth, maxThreads: 1);
        var settings = new SettingsSection("model", "bench", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new(64L, "bench"),
            ["embedding_size"] = new(128L, "bench"),
            ["layers"] = new(4L, "bench"),
            ["heads"] = new(4L, "bench"),
            ["positional"] = new("learned", "bench"),
            ["tie_embeddings"] = new(true, "bench"),
        });
        _model = new GptModel(256, settings);
        _model.Initialize(new Random(1));
        for (var t = 0; t < Tokens; t++)
        {
            _window[t] = 'a' + (t % 26);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _singleThread.Dispose();

    [Benchmark(Baseline = true)]
    public float WithCache()
    {
        var inference = _model.StartInference();
        var last = 0f;
        for (var t = 0; t < Tokens; t++)
        {
            last = inference.Feed(_window[t])[0];
        }
        return last;
    }

    [Benchmark]
    public float WithoutCache()
    {
        var last = 0f;
        for (var t = 1; t <= Tokens; t++)
        {
            _model.Forward(_window.AsSpan(0, t), _targets.AsSpan(0, t), 1, t);
            last = _model.Logits[^1];
        }
        return last;
    }
}
