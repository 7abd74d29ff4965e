using System.Text.Json.Serialization;

namespace NanoLlm.Server;

/// <summary>OpenAI's error object: <c>{"error": {"message", "type", "param", "code"}}</c>, the body of every failed request.</summary>
public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code)
{
    public const string InvalidRequest = "invalid_request_error";

    public static IResult Result(int status, OpenAiError error) =>
        Results.Json(new { error }, ServerJson.Options, statusCode: status);
}

/// <summary>A request the server refuses: its status code and OpenAI error.</summary>
public sealed class RequestException(int status, string message, string? param = null, string? code = null, string type = OpenAiError.InvalidRequest)
    : Exception(message)
{
    public int Status { get; } = status;

    public OpenAiError Error { get; } = new(message, type, param, code);
}
