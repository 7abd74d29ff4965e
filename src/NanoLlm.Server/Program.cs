using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Server;

/// <summary>
/// <c>serve CONFIG [--set section.key=value …] [--verbose]</c>: serves the weights the run file names over OpenAI's
/// HTTP API on <c>[server] host:port</c> (127.0.0.1 by default; port 0 picks a free one) and prints the address it
/// listens on to stdout. Off loopback, clients must send the key in NANOLLM_API_KEY. Ctrl-C stops it.
/// Exit codes: 0 stopped, 2 bad usage, config, weights or address, 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "serve CONFIG [--set section.key=value ...] [--verbose]";

    public static async Task<int> Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var commandLine = CommandLine.Parse(args, Usage);
            var config = RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides);
            var weightsPath = config.Weights.Path;
            if (!File.Exists(weightsPath))
            {
                Console.Error.WriteLine($"error: {weightsPath} not found: train the model first with make train CONFIG={commandLine.ConfigPath}");
                return 2;
            }
            var cortex = Cortex.Load(weightsPath);
            var key = Environment.GetEnvironmentVariable(ApiKey.EnvironmentVariable);
            var apiKey = string.IsNullOrEmpty(key) ? null : new ApiKey(key);
            await using var server = await ServerHost.StartAsync(config, cortex, apiKey).ConfigureAwait(false);
            Console.Error.WriteLine(
                $"serving {ServerHost.ModelId(config)} ({cortex.Model.Spec.Name}, {weightsPath}) with OpenAI's API at {server.Address}/v1; " +
                (apiKey is null ? "no API key (loopback only)" : $"clients must send the API key from {ApiKey.EnvironmentVariable}") + "; Ctrl-C stops");
            Console.Out.WriteLine(server.Address);
            Console.Out.Flush();
            await server.WaitForShutdownAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is ConfigException or WeightsFileException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"error: cannot listen: {e.Message}: pick another [server] port (make serve PORT=…, 0 for a free one)");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected failure: {e.Message}{(verbose ? Environment.NewLine + e : " (run with --verbose for details)")}");
            return 1;
        }
    }
}
