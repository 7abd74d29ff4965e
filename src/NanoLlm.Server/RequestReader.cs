using System.Text.Json;
using NanoLlm.Config;
using NanoLlm.Inference;

namespace NanoLlm.Server;

/// <summary>What a completion request asks for, checked: the sampler's settings, stop sequences and streaming.</summary>
public sealed record GenerationRequest(SamplingSettings Settings, IReadOnlyList<string> Stop, bool Stream, bool IncludeUsage);

/// <summary>
/// Reads OpenAI request bodies. Every field NanoLlm's sampler has is honoured (<c>max_tokens</c> or
/// <c>max_completion_tokens</c>, <c>temperature</c>, <c>top_p</c>, <c>seed</c>, <c>stop</c>, and the extensions
/// <c>top_k</c> and <c>repetition_penalty</c>); <c>n</c> other than 1 is refused; other fields are ignored. A bad value
/// is a <see cref="RequestException"/> naming the field, as OpenAI's 400s do.
/// </summary>
public static class RequestReader
{
    private const int MaxStopSequences = 4;

    public static async Task<JsonElement> ReadBodyAsync(HttpRequest request, CancellationToken cancellation)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellation).ConfigureAwait(false);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new RequestException(400, "The request body must be a JSON object.");
            }
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new RequestException(400, $"The request body is not valid JSON: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new RequestException(413, "The request body is larger than this server accepts ([server] max_body_bytes).");
        }
    }

    /// <summary>The <c>model</c> field, which must name the served model: anything else is a 404, as OpenAI answers.</summary>
    public static void CheckModel(JsonElement body, string modelId)
    {
        var model = String(body, "model") ?? throw new RequestException(400, "you must provide a model parameter", "model");
        if (model != modelId)
        {
            throw new RequestException(404, $"The model '{model}' does not exist; this server serves '{modelId}'.", "model", "model_not_found");
        }
    }

    public static GenerationRequest Generation(JsonElement body, RunConfig config)
    {
        var defaults = config.Sampling;
        var limit = config.Server.MaxTokens;
        var maxTokens = Int(body, "max_completion_tokens") is { } completion ? ("max_completion_tokens", completion) : ("max_tokens", Int(body, "max_tokens"));
        var tokens = maxTokens.Item2 ?? Math.Min(defaults.MaxNewTokens, limit);
        if (tokens < 1 || tokens > limit)
        {
            throw new RequestException(400, $"{maxTokens.Item1} is {tokens}: this server generates from 1 to {limit} tokens a request ([server] max_tokens)", maxTokens.Item1);
        }
        var n = Int(body, "n") ?? 1;
        if (n != 1)
        {
            throw new RequestException(400, $"n is {n}: this server generates one choice a request (n = 1)", "n");
        }
        var seed = Long(body, "seed") ?? defaults.Seed;
        if (seed is < 0 or > int.MaxValue)
        {
            throw new RequestException(400, $"seed is {seed}: use a whole number from 0 to {int.MaxValue}", "seed");
        }
        var settings = new SamplingSettings(
            MaxNewTokens: tokens,
            Temperature: Number(body, "temperature", 0, SamplingSettings.TemperatureLimit, false) ?? defaults.Temperature,
            TopK: Int(body, "top_k") is { } topK ? InRange("top_k", topK, 0, SamplingSettings.TopKLimit) : defaults.TopK,
            TopP: Number(body, "top_p", 0, 1, true) ?? defaults.TopP,
            RepetitionPenalty: Number(body, "repetition_penalty", 1, SamplingSettings.RepetitionPenaltyLimit, false) ?? defaults.RepetitionPenalty,
            Seed: (int)seed);

        var stream = Bool(body, "stream") ?? false;
        var includeUsage = body.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object && (Bool(options, "include_usage") ?? false);
        return new GenerationRequest(settings, Stop(body), stream, includeUsage);
    }

    /// <summary><c>prompt</c> of <c>/v1/completions</c>: a string, or an array holding one string.</summary>
    public static string CompletionPrompt(JsonElement body)
    {
        if (!body.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            return string.Empty;
        }
        return prompt.ValueKind switch
        {
            JsonValueKind.String => prompt.GetString()!,
            JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String => prompt[0].GetString()!,
            JsonValueKind.Array => throw new RequestException(400, "prompt: this server takes one prompt a request (a string, or an array of one string)", "prompt"),
            _ => throw new RequestException(400, "prompt must be a string", "prompt"),
        };
    }

    /// <summary><c>messages</c> of <c>/v1/chat/completions</c>, made into one prompt by <see cref="ChatPrompt"/>.</summary>
    public static string ChatPromptOf(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new RequestException(400, "messages must be a non-empty array of {role, content} objects", "messages");
        }
        var turns = new List<ChatTurn>();
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var where = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw new RequestException(400, $"{where} must be an object with a role and a content", where);
            }
            var role = String(message, "role", where + ".role") switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                var other => throw new RequestException(400, $"{where}.role is '{other}': use system, developer, user or assistant", where + ".role"),
            };
            turns.Add(new ChatTurn(role, Content(message, where + ".content")));
        }
        return ChatPrompt.Format(turns);
    }

    // content: a string, or an array of parts of which the text ones count.
    private static string Content(JsonElement message, string where)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return string.Empty;
        }
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            throw new RequestException(400, $"{where} must be a string or an array of text parts", where);
        }
        var text = new System.Text.StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || String(part, "type") != "text")
            {
                throw new RequestException(400, $"{where}: only text parts are supported", where);
            }
            text.Append(String(part, "text", where + ".text"));
        }
        return text.ToString();
    }

    private static string[] Stop(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (stop.ValueKind == JsonValueKind.String)
        {
            return [stop.GetString()!];
        }
        if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() <= MaxStopSequences && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
        {
            return [.. stop.EnumerateArray().Select(s => s.GetString()!)];
        }
        throw new RequestException(400, $"stop must be a string or an array of up to {MaxStopSequences} strings", "stop");
    }

    private static string? String(JsonElement body, string name, string? where = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return where is null ? null : throw new RequestException(400, $"{where} is missing", where);
        }
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new RequestException(400, $"{where ?? name} must be a string", where ?? name);
    }

    private static bool? Bool(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new RequestException(400, $"{name} must be true or false", name),
        };
    }

    private static long? Long(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var whole)
            ? whole
            : throw new RequestException(400, $"{name} must be a whole number", name);
    }

    private static int? Int(JsonElement body, string name) => Long(body, name) is { } value
        ? (int)Math.Clamp(value, int.MinValue, int.MaxValue)
        : null;

    private static int InRange(string name, int value, int min, int max) =>
        value >= min && value <= max ? value : throw new RequestException(400, $"{name} is {value}: use a whole number from {min} to {max}", name);

    private static double? Number(JsonElement body, string name, double min, double max, bool minExclusive)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new RequestException(400, $"{name} must be a number", name);
        }
        var number = value.GetDouble();
        var belowMin = minExclusive ? number <= min : number < min;
        return belowMin || number > max
            ? throw new RequestException(400, $"{name} is {number}: use a number {(minExclusive ? "greater than" : "from")} {min} {(minExclusive ? "and at most" : "to")} {max}", name)
            : number;
    }
}
