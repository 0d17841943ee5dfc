using System.Text.Json.Serialization;
using Akka.Hosting;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Host.Http;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Registration;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;

namespace ComputeNet.Host.Hosting;

/// <summary>Builds the ComputeNet web host: configuration, Kafka, persistence, Akka, HTTP.</summary>
public static class ComputeNetHost
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>Command-line switches and the configuration keys they set.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--data"] = "ComputeNet:DataDir",
        ["--kafka"] = "ComputeNet:Kafka:BootstrapServers",
        ["--kafka-port"] = "ComputeNet:Kafka:EmbeddedPort",
        ["--postgres"] = "ComputeNet:Persistence:ConnectionString",
        ["--cluster-port"] = "ComputeNet:Cluster:Port",
        ["--cluster-host"] = "ComputeNet:Cluster:Hostname",
    };

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        if (args.Contains("--postgres")) builder.Configuration["ComputeNet:Persistence:Provider"] = "postgresql";

        var options = builder.Configuration.GetSection(ComputeNetOptions.Section).Get<ComputeNetOptions>() ?? new ComputeNetOptions();
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(DefaultUrls);

        var data = new DataDirectory(Path.GetFullPath(options.DataDir));
        Directory.CreateDirectory(data.Path);
        builder.Services.AddSingleton(data);
        builder.Services.AddSingleton(options);

        var kafka = StartKafka(options.Kafka, builder.Services);
        builder.Services.AddSingleton(kafka);

        var db = PersistenceSetup.Resolve(options.Persistence, data.Path);
        builder.Services.AddSingleton(db);

        var appSettings = new AppActorSettings(options.NodeClassCatalog());
        builder.Services.AddSingleton(appSettings);

        builder.Services.AddAkka(AkkaSetup.SystemName, (akka, _) =>
        {
            akka.ConfigureLoggers(loggers => loggers.AddLoggerFactory())
                .WithComputeNetSerialization()
                .WithComputeNetPersistence(db)
                .WithComputeNetCluster(options.Cluster)
                .WithComputeNetNodes(options.Cluster, TelemetryService.NodeSettings(options))
                .WithComputeNetTopology(TelemetryService.TopologySettings(options))
                .WithComputeNetDirectories(options.Forecast)
                .WithComputeNetScheduling(DeploymentService.SchedulerSettings(options),
                    system => DeploymentService.OutboxProps(system, kafka, options.Kafka.Topics), options.Drl.Settings(data.Path))
                .WithComputeNetApps(options.Cluster, appSettings, DeploymentService.AppSettings(options));
            if (options.Adjustment.Enabled) akka.WithComputeNetAdjustment(options.Adjustment.ToSettings());
        });

        builder.Services.AddHostedService<RegistrationService>();
        builder.Services.AddHostedService<TelemetryService>();
        builder.Services.AddHostedService<DriftEventService>();
        builder.Services.AddHostedService<DeploymentService>();
        builder.Services.AddHostedService<EndpointsAnnouncer>();
        builder.Services.AddSingleton<KafkaCheck>();
        builder.Services.AddHealthChecks()
            .AddCheck<ClusterUpCheck>("cluster")
            .AddCheck<JournalCheck>("journal")
            .AddCheck<KafkaCheck>("kafka");
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase));
        });
        builder.Services.AddProblemDetails();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthResponse.Write });
        app.MapMetrics("/metrics");
        app.MapNodeEndpoints();
        app.MapTopologyEndpoints();
        app.MapForecastEndpoints();
        app.MapAppEndpoints();
        app.MapPolicyEndpoints();
        return app;
    }

    private static KafkaEndpoint StartKafka(KafkaOptions options, IServiceCollection services)
    {
        if (!string.IsNullOrWhiteSpace(options.BootstrapServers))
            return new KafkaEndpoint(options.BootstrapServers, Embedded: false, options.Client);

        var broker = EmbeddedKafka.Start(options.EmbeddedPort);
        services.AddSingleton(broker);
        foreach (var topic in TopicsOf(options))
            broker.CreateTopic(topic, options.EmbeddedPartitions);
        return new KafkaEndpoint(broker.BootstrapServers, Embedded: true, options.Client);
    }

    private static IEnumerable<string> TopicsOf(KafkaOptions options) =>
    [
        options.Topics.Registrations, options.Topics.NodeTelemetry, options.Topics.LinkTelemetry,
        options.Topics.AgentCommands, options.Topics.DeadLetter, options.Topics.Events, options.Topics.AgentAcks,
    ];
}

internal static class HealthResponse
{
    public static Task Write(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status == HealthStatus.Healthy ? "ready" : "not-ready",
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString().ToLowerInvariant(), detail = entry.Value.Description }),
        });
    }
}
