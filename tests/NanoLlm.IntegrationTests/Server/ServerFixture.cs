using NanoLlm.Server;

namespace NanoLlm.IntegrationTests.Server;

/// <summary>One tiny model served in-process on a free loopback port, shared by a test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public TinyModel Model { get; } = new();

    public ServerHost Host { get; private set; } = null!;

    public Uri BaseAddress => new(Host.Address);

    public async Task InitializeAsync() => Host = await ServerHost.StartAsync(Model.Config, Model.Cortex, apiKey: null);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Model.Dispose();
    }
}
