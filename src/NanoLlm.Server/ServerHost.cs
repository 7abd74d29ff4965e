using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using NanoLlm.Config;
using NanoLlm.Inference;
using NanoLlm.Training;

namespace NanoLlm.Server;

/// <summary>
/// The server of one run file: Kestrel on <c>[server] host:port</c> with the OpenAI endpoints over a
/// <see cref="BatchedDecoder"/> of the weights. Binding anything but a loopback address needs an <see cref="ApiKey"/>.
/// </summary>
public sealed partial class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BatchedDecoder _decoder;

    private ServerHost(WebApplication app, BatchedDecoder decoder, string address)
    {
        _app = app;
        _decoder = decoder;
        Address = address;
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:8000</c>; the OpenAI base URL is this plus <c>/v1</c>.</summary>
    public string Address { get; }

    /// <summary>The model id the endpoints answer to: the weights file's name without its extension.</summary>
    public static string ModelId(RunConfig config) => Path.GetFileNameWithoutExtension(config.Weights.Path);

    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    /// <summary>Starts serving <paramref name="cortex"/>; <paramref name="apiKey"/> is required off loopback.</summary>
    /// <exception cref="ConfigException">The host is not an address, or is not loopback and there is no API key.</exception>
    public static async Task<ServerHost> StartAsync(RunConfig config, Cortex cortex, ApiKey? apiKey, CancellationToken cancellation = default)
    {
        var server = config.Server;
        var address = server.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(server.Host, out var parsed) ? parsed
            : throw new ConfigException($"{config.Path}: [server] host: \"{server.Host}\" is not an IP address: use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)");
        if (!IPAddress.IsLoopback(address) && apiKey is null)
        {
            throw new ConfigException(
                $"{config.Path}: [server] host: {server.Host} is reachable from other machines: set {ApiKey.EnvironmentVariable} to the key clients must send (Authorization: Bearer KEY), or bind 127.0.0.1");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = server.MaxBodyBytes;
            kestrel.Listen(address, server.Port);
        });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            try
            {
                if (apiKey is not null && context.Request.Path != "/health" && !apiKey.Matches(context.Request.Headers.Authorization))
                {
                    await OpenAiError.Result(401, new OpenAiError(
                        "Incorrect API key provided: send it as Authorization: Bearer KEY.", OpenAiError.InvalidRequest, null, "invalid_api_key")).ExecuteAsync(context).ConfigureAwait(false);
                    return;
                }
                await next(context).ConfigureAwait(false);
            }
            catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
            {
                // Never a stack trace to the client: the error object, and the exception in the server's log.
                RequestFailed(app.Logger, context.Request.Method, context.Request.Path, e);
                await OpenAiError.Result(500, new OpenAiError("The server failed to handle the request.", "server_error", null, null)).ExecuteAsync(context).ConfigureAwait(false);
            }
        });

        var decoder = new BatchedDecoder(cortex, server.MaxBatch);
        OpenAiEndpoints.Map(app, decoder, config, ModelId(config));
        try
        {
            await app.StartAsync(cancellation).ConfigureAwait(false);
        }
        catch
        {
            decoder.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServerHost(app, decoder, bound);
    }

    /// <summary>Runs until the process is asked to stop (Ctrl-C, SIGTERM).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void RequestFailed(ILogger logger, string method, string path, Exception exception);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        _decoder.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
