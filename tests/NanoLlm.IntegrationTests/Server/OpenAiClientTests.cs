using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace NanoLlm.IntegrationTests.Server;

/// <summary>The live server driven by the official OpenAI .NET SDK and by Microsoft.Extensions.AI's OpenAI client.</summary>
public sealed class OpenAiClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private OpenAIClient Client => new(new ApiKeyCredential("unused on loopback"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });

    private ChatClient Chat => Client.GetChatClient(TinyModel.ModelId);

    private static ChatCompletionOptions Options(long seed, int maxTokens = 30) => new() { Seed = seed, MaxOutputTokenCount = maxTokens, Temperature = 1f };

    [Fact]
    public async Task The_models_list_names_the_served_model()
    {
        var models = (await Client.GetOpenAIModelClient().GetModelsAsync()).Value;

        Assert.Equal([TinyModel.ModelId], models.Select(m => m.Id));
    }

    [Fact]
    public async Task A_chat_completion_continues_the_prompt_and_counts_its_tokens()
    {
        var completion = (await Chat.CompleteChatAsync([new UserChatMessage("To be, or")], Options(seed: 1, maxTokens: 30))).Value;

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal((9, 30, 39), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount));
        // The model learned one line: what it writes is made of that line's characters.
        Assert.All(completion.Content[0].Text, c => Assert.Contains(c, "To be, or not to be: that is the question.\n"));
    }

    [Fact]
    public async Task Streaming_gives_the_text_of_the_whole_reply_with_the_same_seed()
    {
        var whole = (await Chat.CompleteChatAsync([new UserChatMessage("not")], Options(seed: 4))).Value;

        var pieces = new List<string>();
        ChatFinishReason? finish = null;
        await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("not")], Options(seed: 4)))
        {
            pieces.AddRange(update.ContentUpdate.Select(part => part.Text));
            finish ??= update.FinishReason;
        }

        Assert.True(pieces.Count > 1, "the reply came in one piece");
        Assert.Equal(whole.Content[0].Text, string.Concat(pieces));
        Assert.Equal(ChatFinishReason.Length, finish);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_reply_and_another_seed_another()
    {
        async Task<string> Reply(long seed) => (await Chat.CompleteChatAsync([new UserChatMessage("To")], Options(seed, 40))).Value.Content[0].Text;

        var first = await Reply(11);
        var again = await Reply(11);
        var other = await Reply(12);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task Concurrent_requests_get_the_replies_each_gets_alone()
    {
        long[] seeds = [21, 22, 23, 24, 25, 26];
        var alone = new List<string>();
        foreach (var seed in seeds)
        {
            alone.Add((await Chat.CompleteChatAsync([new UserChatMessage("be")], Options(seed))).Value.Content[0].Text);
        }

        var together = await Task.WhenAll(seeds.Select(async seed => (await Chat.CompleteChatAsync([new UserChatMessage("be")], Options(seed))).Value.Content[0].Text));

        Assert.Equal(alone, together);
    }

    [Fact]
    public async Task A_bad_value_is_a_400_the_sdk_reports()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat.CompleteChatAsync([new UserChatMessage("To")], new ChatCompletionOptions { Temperature = -1f }));

        Assert.Equal(400, error.Status);
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_the_sdk_reports()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client.GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("To")]));

        Assert.Equal(404, error.Status);
        Assert.Contains("model_not_found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_reply_before_it()
    {
        var full = (await Chat.CompleteChatAsync([new UserChatMessage("To")], Options(seed: 9, maxTokens: 40))).Value.Content[0].Text;
        var stop = full.Substring(10, 2);
        var options = Options(seed: 9, maxTokens: 40);
        options.StopSequences.Add(stop);

        var cut = (await Chat.CompleteChatAsync([new UserChatMessage("To")], options)).Value;

        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task Microsoft_Extensions_AI_gets_replies_and_streams_through_its_OpenAI_client()
    {
        using var chat = Chat.AsIChatClient();
        var options = new ChatOptions { Seed = 5, MaxOutputTokens = 25, Temperature = 1f };

        var response = await chat.GetResponseAsync("To be", options);
        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync("To be", options))
        {
            streamed.Add(update);
        }

        Assert.Equal(25, response.Usage?.OutputTokenCount);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(response.Text, streamed.ToChatResponse().Text);
        Assert.NotEmpty(response.Text);
    }
}
