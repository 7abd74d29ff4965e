using Microsoft.Extensions.AI;
using NanoLlm.Config;
using NanoLlm.Extensions.AI;
using NanoLlm.IntegrationTests.Server;

namespace NanoLlm.IntegrationTests.ExtensionsAI;

public sealed class NanoLlmChatClientTests : IDisposable
{
    private static readonly SamplingSettings Defaults = new(MaxNewTokens: 20, Temperature: 1.0, Seed: 2);

    private readonly TinyModel _model = new();

    public void Dispose() => _model.Dispose();

    [Fact]
    public async Task A_reply_is_what_the_library_generates_for_the_chat_prompt_with_usage_and_finish_reason()
    {
        using var client = new NanoLlmChatClient(_model.WeightsPath, Defaults);
        List<ChatMessage> messages = [new(ChatRole.User, "To be"), new(ChatRole.Assistant, ", or"), new(ChatRole.User, "not")];

        var response = await client.GetResponseAsync(messages);

        using var decoder = new NanoLlm.Inference.BatchedDecoder(_model.Cortex, maxBatch: 1);
        var expected = decoder.Start("To be, or\nnot", Defaults);
        var text = string.Concat(await expected.ReadTextAsync().ToListAsync());
        Assert.Equal(text, response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal((13L, 20L, 33L), (response.Usage!.InputTokenCount, response.Usage.OutputTokenCount, response.Usage.TotalTokenCount));
    }

    [Fact]
    public async Task Streaming_gives_the_same_text_in_pieces_and_ends_with_the_usage()
    {
        using var client = new NanoLlmChatClient(_model.WeightsPath, Defaults);
        var options = new ChatOptions { Seed = 8, MaxOutputTokens = 30, Temperature = 0.9f, TopK = 10, TopP = 0.95f };

        var whole = await client.GetResponseAsync("To be", options);
        var updates = await client.GetStreamingResponseAsync("To be", options).ToListAsync();

        Assert.True(updates.Count > 2);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Length, last.FinishReason);
        Assert.Equal(30, last.Contents.OfType<UsageContent>().Single().Details.OutputTokenCount);
    }

    [Fact]
    public async Task Options_set_the_seed_the_length_and_the_stop_sequences()
    {
        using var client = new NanoLlmChatClient(_model.WeightsPath, Defaults);
        var seven = new ChatOptions { Seed = 7, MaxOutputTokens = 40 };

        var first = await client.GetResponseAsync("To", seven);
        var again = await client.GetResponseAsync("To", seven);
        var stop = first.Text.Substring(12, 2);
        var cut = await client.GetResponseAsync("To", new ChatOptions { Seed = 7, MaxOutputTokens = 40, StopSequences = [stop] });

        Assert.Equal(first.Text, again.Text);
        Assert.Equal(40, first.Usage!.OutputTokenCount);
        Assert.Equal(first.Text[..first.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public void Metadata_names_the_provider_and_the_model()
    {
        using var client = new NanoLlmChatClient(_model.WeightsPath);

        var metadata = client.GetService<ChatClientMetadata>();

        Assert.Equal(("nanollm", TinyModel.ModelId), (metadata?.ProviderName, metadata?.DefaultModelId));
    }
}
