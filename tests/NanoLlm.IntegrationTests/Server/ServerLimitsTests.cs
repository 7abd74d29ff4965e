using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NanoLlm.Config;
using NanoLlm.Server;

namespace NanoLlm.IntegrationTests.Server;

/// <summary>The server over raw HTTP: the legacy completions endpoint, errors, limits and safety.</summary>
public sealed class ServerLimitsTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public void Dispose() => _http.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task A_completion_returns_the_text_usage_and_finish_reason()
    {
        using var response = await _http.PostAsync("/v1/completions", Json("""{"model": "tiny", "prompt": "To be", "max_tokens": 12, "seed": 3}"""));
        var body = await Body(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        Assert.Equal(17, body.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task A_streamed_completion_is_server_sent_events_ending_with_done()
    {
        using var whole = await _http.PostAsync("/v1/completions", Json("""{"model": "tiny", "prompt": "or", "max_tokens": 15, "seed": 8}"""));
        var expected = (await Body(whole)).GetProperty("choices")[0].GetProperty("text").GetString();

        using var response = await _http.PostAsync("/v1/completions", Json("""{"model": "tiny", "prompt": "or", "max_tokens": 15, "seed": 8, "stream": true}"""));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0]).ToArray();
        Assert.Equal(expected, string.Concat(chunks.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal("length", chunks[^1].GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData("{\"model\": \"tiny\", \"prompt\": ", 400, null)]
    [InlineData("[1, 2]", 400, null)]
    [InlineData("{\"model\": \"tiny\", \"prompt\": \"a\", \"max_tokens\": 100001}", 400, "max_tokens")]
    [InlineData("{\"model\": \"tiny\", \"prompt\": \"a\", \"top_p\": 0}", 400, "top_p")]
    [InlineData("{\"model\": \"tiny\", \"prompt\": \"a\", \"n\": 2}", 400, "n")]
    [InlineData("{\"model\": \"tiny\", \"prompt\": \"a\", \"temperature\": \"hot\"}", 400, "temperature")]
    [InlineData("{\"model\": \"tiny\", \"prompt\": \"a\", \"repetition_penalty\": 0.5}", 400, "repetition_penalty")]
    [InlineData("{\"prompt\": \"a\"}", 400, "model")]
    [InlineData("{\"model\": \"davinci\", \"prompt\": \"a\"}", 404, "model")]
    public async Task Bad_requests_get_OpenAI_error_objects(string json, int status, string? param)
    {
        using var response = await _http.PostAsync("/v1/completions", Json(json));
        var error = (await Body(response)).GetProperty("error");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.DoesNotContain("   at ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chat_message_with_an_unknown_role_is_a_400()
    {
        using var response = await _http.PostAsync("/v1/chat/completions", Json("""{"model": "tiny", "messages": [{"role": "tool", "content": "x"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("messages[0].role", (await Body(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_body_over_the_cap_is_refused_with_413()
    {
        var prompt = new string('a', (1 << 20) + 10);
        using var response = await _http.PostAsync("/v1/completions", Json($$"""{"model": "tiny", "prompt": "{{prompt}}"}"""));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("max_body_bytes", (await Body(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_stops_its_generation()
    {
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json("""{"model": "tiny", "prompt": "To", "max_tokens": 100000, "stream": true}""") })
        using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var stream = await response.Content.ReadAsStreamAsync();
            Assert.True(await stream.ReadAsync(new byte[64]) > 0);
        }

        var active = -1;
        for (var i = 0; i < 200 && active != 0; i++)
        {
            await Task.Delay(50);
            active = (await _http.GetFromJsonAsync<JsonElement>("/health")).GetProperty("active").GetInt32();
        }
        Assert.Equal(0, active);
    }

    [Fact]
    public async Task A_request_past_the_timeout_is_stopped_with_408()
    {
        await using var host = await ServerHost.StartAsync(server.Model.With(new ServerSettings(Port: 0, TimeoutSeconds: 0.3, MaxTokens: 1_000_000)), server.Model.Cortex, null);
        using var http = new HttpClient { BaseAddress = new Uri(host.Address) };

        using var response = await http.PostAsync("/v1/completions", Json("""{"model": "tiny", "prompt": "To", "max_tokens": 1000000}"""));

        Assert.Equal(HttpStatusCode.RequestTimeout, response.StatusCode);
        Assert.Equal("timeout", (await Body(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task With_an_api_key_requests_without_it_get_401_and_with_it_200()
    {
        await using var host = await ServerHost.StartAsync(server.Model.With(new ServerSettings(Port: 0)), server.Model.Cortex, new ApiKey("s3cret"));
        using var http = new HttpClient { BaseAddress = new Uri(host.Address) };

        using var without = await http.GetAsync("/v1/models");
        using var wrong = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { "Authorization", "Bearer s3cret!" } } });
        using var with = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { "Authorization", "Bearer s3cret" } } });

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK), (without.StatusCode, wrong.StatusCode, with.StatusCode));
        Assert.Equal("invalid_api_key", (await Body(without)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Binding_beyond_loopback_without_an_api_key_is_refused()
    {
        var error = await Assert.ThrowsAsync<ConfigException>(() =>
            ServerHost.StartAsync(server.Model.With(new ServerSettings(Host: "0.0.0.0", Port: 0)), server.Model.Cortex, null));

        Assert.Contains("NANOLLM_API_KEY", error.Message, StringComparison.Ordinal);
    }
}
