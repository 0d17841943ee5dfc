using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ComputeNet.Host.Hosting;

/// <summary>What a running instance tells scripts and other tools: where its Kafka, API and data are.</summary>
public sealed record Endpoints(string Kafka, string Api, string DataDir)
{
    public const string FileName = "endpoints.json";

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Endpoints? TryRead(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize<Endpoints>(File.ReadAllText(path), JsonOptions) : null;
    }
}

/// <summary>Prints the endpoints once the server listens, and writes them to &lt;data dir&gt;/endpoints.json.</summary>
public sealed class EndpointsAnnouncer(IServer server, IHostApplicationLifetime lifetime, KafkaEndpoint kafka, DataDirectory data, ILogger<EndpointsAnnouncer> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Announce);
        lifetime.ApplicationStopping.Register(() => File.Delete(Path.Combine(data.Path, Endpoints.FileName)));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Announce()
    {
        var api = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "unknown";
        var endpoints = new Endpoints(kafka.BootstrapServers, api, data.Path);
        File.WriteAllText(Path.Combine(data.Path, Endpoints.FileName), JsonSerializer.Serialize(endpoints, Endpoints.JsonOptions));
        Console.WriteLine($"""
            ComputeNet is running.
              Kafka: {endpoints.Kafka}{(kafka.Embedded ? "  (embedded broker: in memory, emptied on restart)" : "")}
              API:   {endpoints.Api}   (health: {endpoints.Api}/health)
              Data:  {endpoints.DataDir}
            """);
        log.LogInformation("Endpoints written to {Path}", Path.Combine(data.Path, Endpoints.FileName));
    }
}

/// <summary>The absolute data directory, created at start.</summary>
public sealed record DataDirectory(string Path);
