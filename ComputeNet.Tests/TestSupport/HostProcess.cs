using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using ComputeNet.Host.Hosting;

namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// The real computenet host as a child process, on a data directory and ports of the test's choosing.
/// Kill() is kill -9; Stop() is SIGTERM, a graceful shutdown.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process, string dataDir, int apiPort, int kafkaPort)
    {
        _process = process;
        DataDir = dataDir;
        Api = new Uri($"http://127.0.0.1:{apiPort}");
        KafkaPort = kafkaPort;
        Http = new HttpClient { BaseAddress = Api, Timeout = TimeSpan.FromSeconds(10) };
    }

    public string DataDir { get; }
    public Uri Api { get; }
    public int KafkaPort { get; }
    public HttpClient Http { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;

    public static async Task<HostProcess> StartAsync(string dataDir, int? apiPort = null, int? kafkaPort = null, params string[] extraArgs)
    {
        var api = apiPort ?? FreePort();
        var kafka = kafkaPort ?? FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(HostDll())!,
        };
        foreach (var arg in new[] { HostDll(), "--data", dataDir, "--urls", $"http://127.0.0.1:{api}", "--kafka-port", kafka.ToString() }.Concat(extraArgs))
            start.ArgumentList.Add(arg);
        start.Environment["DOTNET_gcServer"] = "0";

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the host");
        var host = new HostProcess(process, dataDir, api, kafka);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Generous: a second cluster member on a machine shared with other builds once needed more than 90 s to join.
        await host.WaitUntilReadyAsync(TimeSpan.FromSeconds(180));
        return host;
    }

    /// <summary>The Kafka address the host announced in endpoints.json.</summary>
    public string KafkaBootstrap => Endpoints.TryRead(DataDir)?.Kafka ?? throw new InvalidOperationException("no endpoints.json");

    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"host exited with {_process.ExitCode}:\n{Output}");
            try
            {
                var response = await Http.GetAsync("/health");
                if (response.StatusCode == HttpStatusCode.OK && Endpoints.TryRead(DataDir) is not null) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // slow start
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"host not ready within {timeout}:\n{Output}");
    }

    public async Task<T> GetJsonAsync<T>(string path) =>
        await Http.GetFromJsonAsync<T>(path, ComputeNet.Actors.Persistence.ComputeNetSerializer.JsonOptions)
        ?? throw new InvalidOperationException($"null from {path}");

    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true); // SIGKILL: no shutdown hooks run
        await _process.WaitForExitAsync();
    }

    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await term!.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        // COMPUTENET_TEST_HOST_LOGS=DIR keeps every host's output for diagnosis.
        if (Environment.GetEnvironmentVariable("COMPUTENET_TEST_HOST_LOGS") is { Length: > 0 } logs)
            await File.WriteAllTextAsync(Path.Combine(logs, $"host-{DateTime.UtcNow:HHmmss.fff}-{_process.Id}.log"), Output);
        Http.Dispose();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>Runs a computenet CLI sub-command against this host, as a user would from a shell.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(params string[] args) =>
        RunComputenetAsync([.. args, "--api", Api.ToString().TrimEnd('/')]);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunComputenetAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(HostDll());
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string HostDll()
    {
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/'))!); // Debug|Release
        var dll = Path.Combine(RepositoryRoot(), "ComputeNet.Host", "bin", configuration, "net10.0", "computenet.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build ComputeNet.Host first", dll);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ComputeNet.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("ComputeNet.sln not found above " + AppContext.BaseDirectory);
    }
}
