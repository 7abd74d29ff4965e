using System.Globalization;
using System.Text;
using System.Text.Json;
using NanoLlm.Config;
using NanoLlm.Inference;

namespace NanoLlm.Server;

/// <summary>
/// The OpenAI HTTP API over a <see cref="BatchedDecoder"/>: <c>GET /v1/models</c>, <c>POST /v1/completions</c>,
/// <c>POST /v1/chat/completions</c> (both with <c>stream: true</c> as server-sent events, <c>data: {chunk}</c> lines
/// ending with <c>data: [DONE]</c>, as OpenAI's clients read them) and <c>GET /health</c>.
/// </summary>
public static class OpenAiEndpoints
{
    public static void Map(WebApplication app, BatchedDecoder decoder, RunConfig config, string modelId)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        app.MapGet("/health", () => Results.Json(new { status = "ok", model = modelId, active = decoder.Active, waiting = decoder.Waiting }, ServerJson.Options));
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { Model(modelId, created) } }, ServerJson.Options));
        app.MapGet("/v1/models/{id}", (string id) => id == modelId
            ? Results.Json(Model(modelId, created), ServerJson.Options)
            : OpenAiError.Result(404, new OpenAiError($"The model '{id}' does not exist", OpenAiError.InvalidRequest, "model", "model_not_found")));
        app.MapPost("/v1/completions", (HttpContext context) => Complete(context, decoder, config, modelId, chat: false));
        app.MapPost("/v1/chat/completions", (HttpContext context) => Complete(context, decoder, config, modelId, chat: true));
        app.MapFallback(() => OpenAiError.Result(404, new OpenAiError("Unknown path: this server serves /v1/models, /v1/completions, /v1/chat/completions and /health.", OpenAiError.InvalidRequest, null, "unknown_url")));
    }

    private static object Model(string id, long created) => new { id, @object = "model", created, owned_by = "nanollm" };

    private static async Task Complete(HttpContext context, BatchedDecoder decoder, RunConfig config, string modelId, bool chat)
    {
        var aborted = context.RequestAborted;
        JsonElement body;
        GenerationRequest request;
        string prompt;
        try
        {
            body = await RequestReader.ReadBodyAsync(context.Request, aborted).ConfigureAwait(false);
            RequestReader.CheckModel(body, modelId);
            request = RequestReader.Generation(body, config);
            prompt = chat ? RequestReader.ChatPromptOf(body) : RequestReader.CompletionPrompt(body);
        }
        catch (RequestException e)
        {
            await OpenAiError.Result(e.Status, e.Error).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(config.Server.TimeoutSeconds));
        var generation = decoder.Start(prompt, request.Settings, request.Stop, timeout.Token);
        var id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = new Response(id, created, modelId, chat);
        try
        {
            if (request.Stream)
            {
                await Stream(context, generation, request, response, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                var text = new StringBuilder();
                await foreach (var piece in generation.ReadTextAsync(timeout.Token).ConfigureAwait(false))
                {
                    text.Append(piece);
                }
                await Results.Json(response.Whole(text.ToString(), generation), ServerJson.Options).ExecuteAsync(context).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            var error = new OpenAiError($"The request took longer than this server allows ({config.Server.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)} s, [server] timeout_seconds).", "timeout", null, "timeout");
            if (context.Response.HasStarted)
            {
                await WriteEvent(context.Response, new { error }, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await OpenAiError.Result(408, error).ExecuteAsync(context).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away: the generation has stopped and freed its slot; there is no one to answer.
        }
        finally
        {
            // Whatever ended the request, its generation stops with it.
            await timeout.CancelAsync().ConfigureAwait(false);
        }
    }

    private static async Task Stream(HttpContext context, Generation generation, GenerationRequest request, Response response, CancellationToken cancellation)
    {
        var http = context.Response;
        http.ContentType = "text/event-stream";
        http.Headers.CacheControl = "no-cache";
        http.Headers["X-Accel-Buffering"] = "no";
        await http.StartAsync(cancellation).ConfigureAwait(false);
        if (response.Chat)
        {
            await WriteEvent(http, response.Chunk(new { role = "assistant", content = "" }, null), cancellation).ConfigureAwait(false);
        }
        await foreach (var piece in generation.ReadTextAsync(cancellation).ConfigureAwait(false))
        {
            await WriteEvent(http, response.Chunk(response.Chat ? new { content = piece } : piece, null), cancellation).ConfigureAwait(false);
        }
        await WriteEvent(http, response.Chunk(response.Chat ? new { } : "", FinishReasonOf(generation)), cancellation).ConfigureAwait(false);
        if (request.IncludeUsage)
        {
            await WriteEvent(http, response.UsageChunk(generation), cancellation).ConfigureAwait(false);
        }
        await http.WriteAsync("data: [DONE]\n\n", cancellation).ConfigureAwait(false);
        await http.Body.FlushAsync(cancellation).ConfigureAwait(false);
    }

    private static async Task WriteEvent(HttpResponse response, object data, CancellationToken cancellation)
    {
        var json = JsonSerializer.Serialize(data, ServerJson.Options);
        await response.WriteAsync($"data: {json}\n\n", cancellation).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellation).ConfigureAwait(false);
    }

    private static string FinishReasonOf(Generation generation) => generation.Finish == FinishReason.Stop ? "stop" : "length";

    private static object Usage(Generation generation) => new
    {
        prompt_tokens = generation.PromptTokens,
        completion_tokens = generation.CompletionTokens,
        total_tokens = generation.PromptTokens + generation.CompletionTokens,
    };

    /// <summary>The response objects of one request: <c>chat.completion</c>(<c>.chunk</c>) or <c>text_completion</c>.</summary>
    private sealed record Response(string Id, long Created, string Model, bool Chat)
    {
        public object Whole(string text, Generation generation) => Chat
            ? new
            {
                id = Id,
                @object = "chat.completion",
                created = Created,
                model = Model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, logprobs = (object?)null, finish_reason = FinishReasonOf(generation) } },
                usage = Usage(generation),
            }
            : new
            {
                id = Id,
                @object = "text_completion",
                created = Created,
                model = Model,
                choices = new[] { new { text, index = 0, logprobs = (object?)null, finish_reason = FinishReasonOf(generation) } },
                usage = Usage(generation),
            };

        public object Chunk(object delta, string? finishReason) => Chat
            ? new
            {
                id = Id,
                @object = "chat.completion.chunk",
                created = Created,
                model = Model,
                choices = new[] { new { index = 0, delta, logprobs = (object?)null, finish_reason = finishReason } },
            }
            : new
            {
                id = Id,
                @object = "text_completion",
                created = Created,
                model = Model,
                choices = new[] { new { text = delta, index = 0, logprobs = (object?)null, finish_reason = finishReason } },
            };

        public object UsageChunk(Generation generation) => new
        {
            id = Id,
            @object = Chat ? "chat.completion.chunk" : "text_completion",
            created = Created,
            model = Model,
            choices = Array.Empty<object>(),
            usage = Usage(generation),
        };
    }
}
