using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Streams;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Telemetry;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Runs the telemetry pipeline (算力感知) for the life of the host, and exports what /metrics needs
/// beyond the pipeline's own counters: consumer lag per partition and nodes up/down.
/// </summary>
public sealed class TelemetryService(
    ActorSystem system,
    IRequiredActor<NodeRegion> nodeRegion,
    IRequiredActor<TopologyKey> topology,
    IRequiredActor<NodeDirectory> directory,
    KafkaEndpoint kafka,
    ComputeNetOptions options,
    PersistenceSetup.Resolved db,
    ILogger<TelemetryService> log) : IHostedService
{
    private KafkaPublisher? _publisher;
    private UniqueKillSwitch? _killSwitch;
    private Task _completion = Task.CompletedTask;
    private volatile IKafkaControl? _consumer;
    private volatile NodeDirectoryProtocol.HealthCounts _health = new(0, 0, 0);
    private readonly CancellationTokenSource _stopping = new();

    public static NodeActorSettings NodeSettings(ComputeNetOptions options) =>
        new(options.Registration.AgentReportingIntervalMs)
        {
            SilenceTimeout = TimeSpan.FromMilliseconds(options.Telemetry.SilenceTimeoutMs),
            CapacityTolerance = options.Telemetry.CapacityTolerance,
            TelemetryHistoryWindows = options.Telemetry.HistoryWindows,
            Forecast = options.Forecast.ToSettings(),
        };

    public static TopologyActorSettings TopologySettings(ComputeNetOptions options) =>
        new() { SilenceTimeout = TimeSpan.FromMilliseconds(options.Telemetry.SilenceTimeoutMs), Forecast = options.Forecast.ToSettings() };

    /// <summary>A window or checkpoint may wait for journal writes, so the stream waits longer than one write may take.</summary>
    public static TelemetrySettings PipelineSettings(ComputeNetOptions options, PersistenceSetup.Resolved db)
    {
        options.Telemetry.Validate();
        return new(options.Kafka.Topics, db.WriteTimeout + TimeSpan.FromSeconds(15))
        {
            Limits = new TelemetryLimits
            {
                MaxRecordBytes = options.Telemetry.MaxRecordBytes,
                MaxClockAhead = TimeSpan.FromMilliseconds(options.Telemetry.MaxClockAheadMs),
                MaxAge = TimeSpan.FromMilliseconds(options.Telemetry.MaxAgeMs),
            },
            AggregationInterval = TimeSpan.FromMilliseconds(options.Telemetry.AggregationIntervalMs),
            MaxRecordsPerWindow = options.Telemetry.MaxRecordsPerWindow,
            WindowQuiet = TimeSpan.FromMilliseconds(options.Telemetry.WindowQuietMs),
            CheckpointInterval = TimeSpan.FromMilliseconds(options.Telemetry.CheckpointIntervalMs),
        };
    }

    /// <summary>The telemetry consumer's settings (also what <c>bench ingest</c> measures).</summary>
    public static ConsumerSettings PipelineConsumer(KafkaConnection connection, string groupId) =>
        new(connection, groupId) { ClientId = "computenet-telemetry", BufferSize = 2048 };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var region = await nodeRegion.GetAsync(cancellationToken);
        var topologyActor = await topology.GetAsync(cancellationToken);
        _publisher = new KafkaPublisher(new ProducerSettings(kafka.Connection) { ClientId = "computenet-telemetry" });
        var settings = PipelineSettings(options, db);
        var handler = new TelemetryHandler(region, topologyActor, _publisher, settings, TimeProvider.System);
        var consumer = PipelineConsumer(kafka.Connection, options.Kafka.GroupId + "-telemetry");

        ComputeNetMeter.Instance.CreateObservableGauge("telemetry_consumer_lag_records", ObserveLag, description: "telemetry records not yet consumed, per topic partition");
        ComputeNetMeter.Instance.CreateObservableGauge("nodes", ObserveHealth, description: "registered nodes by health (up, down, unknown)");
        _ = PollHealth(await directory.GetAsync(cancellationToken));

        (_killSwitch, _completion) = TelemetryPipeline.Run(system.Materializer(), consumer, handler, settings, region, topologyActor,
            onConsumer: control => _consumer = control);
        log.LogInformation("Consuming telemetry from {NodeTopic} and {LinkTopic} at {Kafka}",
            options.Kafka.Topics.NodeTelemetry, options.Kafka.Topics.LinkTelemetry, kafka.BootstrapServers);
    }

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        if (_consumer is not { } consumer) yield break;
        foreach (var (partition, lag) in consumer.Lag)
            yield return new Measurement<long>(lag,
                new KeyValuePair<string, object?>("topic", partition.Topic), new KeyValuePair<string, object?>("partition", partition.Partition.Value));
    }

    private IEnumerable<Measurement<int>> ObserveHealth()
    {
        var health = _health;
        yield return new Measurement<int>(health.Up, new KeyValuePair<string, object?>("health", "up"));
        yield return new Measurement<int>(health.Down, new KeyValuePair<string, object?>("health", "down"));
        yield return new Measurement<int>(health.Unknown, new KeyValuePair<string, object?>("health", "unknown"));
    }

    /// <summary>Gauge callbacks must not block on an Ask; the counts are refreshed in the background instead.</summary>
    private async Task PollHealth(IActorRef nodeDirectory)
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                _health = await nodeDirectory.Ask<NodeDirectoryProtocol.HealthCounts>(new NodeDirectoryProtocol.GetHealthCounts(), TimeSpan.FromSeconds(5));
                await Task.Delay(TimeSpan.FromSeconds(2), _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (AskTimeoutException)
            {
                // the directory is busy replaying; try again
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _killSwitch?.Shutdown();
        await Task.WhenAny(_completion, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        _publisher?.Dispose();
    }
}
