using NanoLlm.Config;
using NanoLlm.Inference;
using NanoLlm.Model;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Tests.Inference;

public sealed class BatchedDecoderTests
{
    private static readonly SamplingSettings Settings = new(MaxNewTokens: 24, Temperature: 1.0, Seed: 3);

    /// <summary>A small random GPT over bytes, with weights large enough that its tokens depend on the context.</summary>
    internal static Cortex RandomGpt(int contextLength = 16)
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new((long)contextLength, "test"),
            ["embedding_size"] = new(32L, "test"),
            ["layers"] = new(2L, "test"),
            ["heads"] = new(2L, "test"),
        });
        var model = new GptModel(256, settings);
        var random = new Random(7);
        model.Initialize(random);
        Initialization.Normal(model.Parameters.Values, 0.2, random);
        return new Cortex(model, Tokenizer.ByteLevel);
    }

    private static async Task<(string Text, Generation Generation)> Read(Generation generation, CancellationToken cancellation = default)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var piece in generation.ReadTextAsync(cancellation))
        {
            text.Append(piece);
        }
        return (text.ToString(), generation);
    }

    [Fact]
    public async Task Concurrent_generations_get_the_text_each_gets_alone()
    {
        var requests = Enumerable.Range(0, 7)
            .Select(i => ($"prompt {i}{new string('x', i * 5)}", Settings with { Seed = i, MaxNewTokens = 10 + (i * 7) }))
            .ToArray();
        using var decoder = new BatchedDecoder(RandomGpt(), maxBatch: 3);
        var alone = new List<string>();
        foreach (var (prompt, settings) in requests)
        {
            alone.Add((await Read(decoder.Start(prompt, settings))).Text);
        }

        // Seven requests on three slots: they join as others leave, and run past the 16-token context.
        var together = await Task.WhenAll(requests.Select(r => Read(decoder.Start(r.Item1, r.Item2))));

        Assert.Equal(alone, together.Select(t => t.Text));
        Assert.Equal(requests.Select(r => r.Item2.MaxNewTokens), together.Select(t => t.Generation.CompletionTokens));
        Assert.All(together, t => Assert.Equal(FinishReason.Length, t.Generation.Finish));
        Assert.Equal(8, together[0].Generation.PromptTokens);
    }

    [Fact]
    public async Task A_model_without_a_batched_path_generates_what_the_cortex_generates()
    {
        var cortex = new Cortex(new LetterModel(contextLength: 26), Tokenizer.ByteLevel);
        using var decoder = new BatchedDecoder(cortex, maxBatch: 2);

        var (text, _) = await Read(decoder.Start("ab", Settings));

        Assert.Equal(string.Concat(cortex.Generate("ab", Settings)), text);
    }

    [Fact]
    public async Task Text_ends_before_the_first_stop_sequence()
    {
        var cortex = new Cortex(new LetterModel(contextLength: 26), Tokenizer.ByteLevel);
        var full = string.Concat(cortex.Generate("ab", Settings));
        var stop = full.Substring(9, 2);
        var cut = full.IndexOf(stop, StringComparison.Ordinal);
        using var decoder = new BatchedDecoder(cortex, maxBatch: 2);

        var (text, generation) = await Read(decoder.Start("ab", Settings, ["zzzz", stop]));

        Assert.Equal(full[..cut], text);
        Assert.Equal(FinishReason.Stop, generation.Finish);
        Assert.Equal(cut + 2, generation.CompletionTokens);
    }

    [Fact]
    public async Task Cancelling_a_generation_frees_its_slot_for_the_next()
    {
        using var decoder = new BatchedDecoder(RandomGpt(), maxBatch: 1);
        using var cancellation = new CancellationTokenSource();
        var endless = decoder.Start("a", Settings with { MaxNewTokens = 1_000_000 }, cancellation: cancellation.Token);
        var reading = Read(endless, cancellation.Token);
        var waiting = decoder.Start("b", Settings);

        await Task.Delay(50);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        var (text, generation) = await Read(waiting);
        Assert.Equal(FinishReason.Length, generation.Finish);
        Assert.Equal(Settings.MaxNewTokens, generation.CompletionTokens);
        Assert.NotEmpty(text);
    }

    [Fact]
    public async Task Leaving_the_reading_loop_early_stops_the_generation()
    {
        using var decoder = new BatchedDecoder(RandomGpt(), maxBatch: 1);
        var generation = decoder.Start("a", Settings with { MaxNewTokens = 1_000_000 });

        await foreach (var _ in generation.ReadTextAsync())
        {
            break;
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (decoder.Active > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(0, decoder.Active);
    }
}
