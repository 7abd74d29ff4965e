using System.Diagnostics;
using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Interop;
using NanoLlm.Model;
using NanoLlm.Sampling;
using NanoLlm.Tensors;

namespace NanoLlm.Bench;

/// <summary>
/// Generation with the key/value cache on a GPT-2-124M-shaped model (12 layers, 12 heads, C = 768, context 1,024,
/// V = 50,257, tied head; random weights: speed does not depend on their values), against the memory-bandwidth limit:
/// each new token reads every weight once (the tied head reads all of wte), so tokens/s cannot exceed this machine's
/// copy bandwidth ÷ the bytes of weights. The bandwidth is measured here, as STREAM's Copy counts it (bytes read +
/// bytes written, 2 × 256 MiB arrays, best of 5), with as many threads as the generation, in the same run. Sampling
/// (temperature, top-k 200, top-p 0.95 over 50,257 logits) is timed apart: it is chat's other cost per token.
/// </summary>
public static class Gpt2Generation
{
    private const int Prompt = 16;
    private const int Generated = 64;

    public static void Run(IReadOnlyList<int> threadCounts)
    {
        var shape = new Gpt2Shape(Layers: 12, Heads: 12, Channels: 768, ContextLength: 1024, VocabSize: Gpt2Tokenizers.Gpt2VocabSize, FeedForwardSize: 3072);
        var model = shape.CreateModel("bench");
        model.Initialize(new Random(1));
        var weightBytes = 4L * (model.Parameters.Count - model.Parameters["wpe"].Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GPT-2 124M shape: {model.Parameters.Count:N0} parameters; a token reads {weightBytes / 1e6:F0} MB of weights (all but wpe), which start {BytesPastCacheLine(model.Parameters.Values)} bytes past a 64-byte boundary; {KernelSettings.VectorWidth}-bit vectors; load average {File.ReadAllText("/proc/loadavg").Trim()}"));
        Console.WriteLine("threads | copy GB/s | limit tokens/s | tokens/s (median of 3 runs of 64) | ms/token | limit / measured");
        foreach (var threads in threadCounts)
        {
            using var scope = KernelSettings.Override(KernelSettings.VectorWidth, threads);
            var bandwidth = CopyBandwidth(threads);
            var limit = bandwidth / weightBytes;
            var rates = new List<double>();
            for (var run = 0; run < 3; run++)
            {
                var inference = model.StartInference();
                for (var t = 0; t < Prompt; t++)
                {
                    inference.Feed(t * 7);
                }
                var clock = Stopwatch.StartNew();
                var token = 0;
                for (var t = 0; t < Generated; t++)
                {
                    token = Sampler.ArgMax(inference.Feed(token));
                }
                rates.Add(Generated / clock.Elapsed.TotalSeconds);
            }
            rates.Sort();
            var rate = rates[1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{threads} | {bandwidth / 1e9:F2} | {limit:F1} | {rate:F1} ({rates[0]:F1} … {rates[2]:F1}) | {1000 / rate:F0} | {limit / rate:F2}x"));
            TokenParts(model, 1000 / rate);
        }
        Console.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Trim()}");
        SamplingCost();
    }

    // Where a token's time goes: its 49 matrix-vector products timed alone over the model's weights (the blocks' 48,
    // then the head's), the rest (norms, attention over the cache, GELU, residuals, arg max) by difference, twice: from
    // the median token and the median products, and from the fastest of each, which a busy machine disturbs less; and
    // the same products with the previous kernel, side by side.
    private static void TokenParts(GptModel model, double tokenMilliseconds)
    {
        var inference = model.StartInference();
        var token = 0;
        var fastestToken = double.MaxValue;
        for (var t = 0; t < Prompt + Generated; t++)
        {
            var clock = Stopwatch.StartNew();
            token = Sampler.ArgMax(inference.Feed(token));
            fastestToken = Math.Min(fastestToken, clock.Elapsed.TotalMilliseconds);
        }
        var products = new List<(Parameter Weight, bool Head)>();
        foreach (var parameter in model.Parameters.Parameters)
        {
            if (parameter.HiddenMatrix)
            {
                products.Add((parameter, false));
            }
        }
        products.Add((model.Parameters["wte"], true));
        var x = new float[products.Max(p => p.Weight.Shape[1])];
        x.AsSpan().Fill(0.01f);
        var y = new float[products.Max(p => p.Weight.Shape[0])];
        var (blocks, head, previousBlocks, previousHead) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        for (var repeat = 0; repeat < 31; repeat++)
        {
            foreach (var previous in new[] { false, true })
            {
                var (blockSeconds, headSeconds) = (0.0, 0.0);
                foreach (var (weight, isHead) in products)
                {
                    var (outputs, inputs) = (weight.Shape[0], weight.Shape[1]);
                    var clock = Stopwatch.StartNew();
                    if (previous)
                    {
                        PreviousMatVec.Forward(y, x, weight.Values, outputs, inputs);
                    }
                    else
                    {
                        MatVec.Forward(y, x, weight.Values, [], outputs, inputs);
                    }
                    var seconds = clock.Elapsed.TotalSeconds;
                    (blockSeconds, headSeconds) = isHead ? (blockSeconds, headSeconds + seconds) : (blockSeconds + seconds, headSeconds);
                }
                if (repeat > 0)
                {
                    (previous ? previousBlocks : blocks).Add(blockSeconds * 1000);
                    (previous ? previousHead : head).Add(headSeconds * 1000);
                }
            }
        }
        var blockBytes = products.Where(p => !p.Head).Sum(p => 4.0 * p.Weight.Length);
        var headBytes = 4.0 * model.Parameters["wte"].Length;
        var fastestProducts = blocks.Zip(head, (blockMilliseconds, headMilliseconds) => blockMilliseconds + headMilliseconds).Min();
        var (b, h, pb, ph) = (Median(blocks), Median(head), Median(previousBlocks), Median(previousHead));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  a token's {tokenMilliseconds:F1} ms: the blocks' {products.Count - 1} products {b:F1} ms ({blockBytes / b / 1e6:F1} GB/s), the head's {h:F1} ms ({headBytes / h / 1e6:F1} GB/s), the rest {tokenMilliseconds - b - h:F1} ms (fastest token {fastestToken:F1} ms less fastest products {fastestProducts:F1} ms: {fastestToken - fastestProducts:F1} ms)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  the same products row by row (the previous kernel): {pb:F1} + {ph:F1} ms ({(blockBytes + headBytes) / (pb + ph) / 1e6:F1} GB/s), {(pb + ph) / (b + h):F2}x the time"));
    }

    // A vector load of weights that do not start on a cache line reads two lines: worth knowing beside the figures.
    private static unsafe long BytesPastCacheLine(float[] values)
    {
        fixed (float* start = values)
        {
            return (long)start % 64;
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    private static void SamplingCost()
    {
        var logits = new float[Gpt2Tokenizers.Gpt2VocabSize];
        var random = new Random(3);
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)(random.NextDouble() * 8);
        }
        var sampler = new Sampler(new SamplingSettings(MaxNewTokens: 100, Temperature: 0.8, TopK: 200, TopP: 0.95, Seed: 1), logits.Length, 1024);
        for (var i = 0; i < 20; i++)
        {
            sampler.Append(sampler.Next(logits));
        }
        var clock = Stopwatch.StartNew();
        const int Draws = 200;
        for (var i = 0; i < Draws; i++)
        {
            sampler.Append(sampler.Next(logits));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sampling one token from 50,257 logits (temperature 0.8, top-k 200, top-p 0.95): {clock.Elapsed.TotalMilliseconds * 1000 / Draws:F0} µs"));
    }

    // Bytes read + written per second copying 256 MiB, split over the threads; the best of 5 copies.
    private static double CopyBandwidth(int threads)
    {
        const int Floats = 64 << 20;
        var source = new float[Floats];
        var destination = new float[Floats];
        source.AsSpan().Fill(1f);
        destination.AsSpan().Clear();
        var best = double.MaxValue;
        for (var repeat = 0; repeat < 5; repeat++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
            {
                var (first, last) = ((long)Floats * part / threads, (long)Floats * (part + 1) / threads);
                source.AsSpan((int)first, (int)(last - first)).CopyTo(destination.AsSpan((int)first, (int)(last - first)));
            });
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * Floats * sizeof(float) / best;
    }
}
