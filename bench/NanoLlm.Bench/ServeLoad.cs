using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace NanoLlm.Bench;

/// <summary>
/// <c>--serve-load CONFIG --server DLL [--clients 1,4,16] [--seconds 20] [--max-tokens 128]</c>: starts the server
/// program on a free loopback port and, for each client count, keeps that many streaming completion requests going for
/// the given time (requests under way at the end are waited for, so every request completes). Reports per level:
/// requests, failures, p50/p99 time to first token, aggregate generated tokens/s and the server's peak RSS, then each
/// level's tokens/s over one client's. Traffic goes to 127.0.0.1 only; the server is killed at the end.
/// </summary>
public static class ServeLoad
{
    private sealed record Level(int Clients, int Requests, int Failures, double P50, double P99, double TokensPerSecond, double PeakRssMb);

    public static int Run(string config, string serverDll, int[] clients, double seconds, int maxTokens)
    {
        using var server = StartServer(config, serverDll, clients.Max());
        try
        {
            var address = server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
            if (address is null || !Uri.TryCreate(address, UriKind.Absolute, out var uri) || !IPAddress.IsLoopback(IPAddress.Parse(uri.Host)))
            {
                Console.Error.WriteLine($"error: the server did not start on loopback: {address} {server.StandardError.ReadToEnd()}");
                return 2;
            }
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { BaseAddress = uri, Timeout = TimeSpan.FromMinutes(5) };
            var model = JsonDocument.Parse(http.GetStringAsync("/v1/models").GetAwaiter().GetResult()).RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
            Console.WriteLine($"bench-serve: {config} (model {model}) at {uri}, {seconds} s a level, {maxTokens} tokens a request, " +
                $"{Environment.ProcessorCount} cores, load average {LoadAverage()} at the start");
            Request(http, model, 0, 16).GetAwaiter().GetResult();

            var levels = new List<Level>();
            foreach (var count in clients)
            {
                var level = RunLevel(http, model, count, seconds, maxTokens, server.Id);
                levels.Add(level);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"clients {level.Clients,2}: {level.Requests,4} requests, {level.Failures} failed, TTFT p50 {level.P50,7:F1} ms p99 {level.P99,7:F1} ms, " +
                    $"{level.TokensPerSecond,7:F0} tokens/s, peak RSS {level.PeakRssMb:F0} MB"));
            }
            var single = levels.FirstOrDefault(l => l.Clients == 1);
            if (single is not null)
            {
                Console.WriteLine(string.Join(", ", levels.Where(l => l.Clients > 1).Select(l =>
                    string.Create(CultureInfo.InvariantCulture, $"{l.Clients} clients {l.TokensPerSecond / single.TokensPerSecond:F2}x"))) + " the tokens/s of one client");
            }
            Console.WriteLine($"load average {LoadAverage()} at the end");
            return levels.Sum(l => l.Failures) == 0 ? 0 : 1;
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit();
        }
    }

    private static Process StartServer(string config, string serverDll, int maxBatch)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { serverDll, config, "--set", "server.port=0", "--set", $"server.max_batch={maxBatch}" })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return process;
    }

    private static Level RunLevel(HttpClient http, string model, int clients, double seconds, int maxTokens, int serverId)
    {
        var deadline = Stopwatch.StartNew();
        var firstTokens = new List<double>();
        var (requests, failures, tokens) = (0, 0, 0L);
        var gate = new object();
        var next = 0;
        var workers = Enumerable.Range(0, clients).Select(async _ =>
        {
            while (deadline.Elapsed.TotalSeconds < seconds)
            {
                var seed = Interlocked.Increment(ref next);
                try
                {
                    var (firstToken, generated) = await Request(http, model, seed, maxTokens).ConfigureAwait(false);
                    lock (gate)
                    {
                        requests++;
                        tokens += generated;
                        firstTokens.Add(firstToken);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or JsonException or InvalidOperationException or TaskCanceledException)
                {
                    lock (gate)
                    {
                        requests++;
                        failures++;
                    }
                    Console.Error.WriteLine($"request {seed} failed: {e.Message}");
                }
            }
        }).ToArray();
        Task.WaitAll(workers);
        var elapsed = deadline.Elapsed.TotalSeconds;
        firstTokens.Sort();
        return new Level(clients, requests, failures, Percentile(firstTokens, 0.5), Percentile(firstTokens, 0.99), tokens / elapsed, PeakRssMb(serverId));
    }

    // One streaming completion: milliseconds to the first chunk with text, and the tokens generated (from the usage chunk).
    private static async Task<(double FirstToken, int Tokens)> Request(HttpClient http, string model, int seed, int maxTokens)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = model,
            ["prompt"] = "ROMEO:",
            ["max_tokens"] = maxTokens,
            ["seed"] = seed,
            ["stream"] = true,
            ["stream_options"] = new Dictionary<string, bool> { ["include_usage"] = true },
        });
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
        double firstToken = -1;
        var tokens = -1;
        var done = false;
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }
            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                break;
            }
            var chunk = JsonDocument.Parse(data).RootElement;
            if (chunk.TryGetProperty("usage", out var usage))
            {
                tokens = usage.GetProperty("completion_tokens").GetInt32();
            }
            else if (firstToken < 0 && chunk.GetProperty("choices")[0].GetProperty("text").GetString()!.Length > 0)
            {
                firstToken = clock.Elapsed.TotalMilliseconds;
            }
        }
        return done && tokens >= 0 && firstToken >= 0 ? (firstToken, tokens) : throw new InvalidOperationException("the stream ended early");
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    // VmHWM: the process's peak resident set so far (Linux).
    private static double PeakRssMb(int processId)
    {
        var status = $"/proc/{processId}/status";
        if (!File.Exists(status))
        {
            return double.NaN;
        }
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
