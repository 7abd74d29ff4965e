using System.Net.Http.Json;
using System.Text.Json;

namespace NanoLlm.IntegrationTests.Server;

public sealed class ServerProgramTests : IDisposable
{
    private readonly TinyModel _model = new();

    public void Dispose() => _model.Dispose();

    [Fact]
    public async Task Serve_prints_the_loopback_address_it_listens_on_and_serves_there()
    {
        using var process = ProgramRunner.StartServer(_model.Folder, _model.RunFile, "--set", "server.port=0");
        try
        {
            var readLine = process.StandardOutput.ReadLineAsync();
            Assert.True(await Task.WhenAny(readLine, Task.Delay(TimeSpan.FromMinutes(1))) == readLine, "serve printed no address within a minute");
            var address = await readLine;
            Assert.Matches(@"^http://127\.0\.0\.1:\d+$", address);

            using var http = new HttpClient { BaseAddress = new Uri(address!) };
            var health = await http.GetFromJsonAsync<JsonElement>("/health");
            Assert.Equal("ok", health.GetProperty("status").GetString());
            Assert.Equal(TinyModel.ModelId, health.GetProperty("model").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void Serve_without_weights_exits_2_saying_to_train_first()
    {
        File.Delete(_model.WeightsPath);

        var result = ProgramRunner.Serve(_model.Folder, _model.RunFile);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("train the model first", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_on_every_interface_without_an_api_key_exits_2_naming_the_variable()
    {
        var result = ProgramRunner.Serve(_model.Folder, _model.RunFile, "--set", "server.host=0.0.0.0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("NANOLLM_API_KEY", result.StandardError, StringComparison.Ordinal);
    }
}
