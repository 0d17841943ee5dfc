using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using static ComputeNet.Streams.Kafka.MockClusterNative;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// An in-process Kafka: librdkafka's mock cluster speaking the real protocol on loopback TCP, for
/// one-machine runs and tests. Brokers are numbered 1..brokers and bind ephemeral ports; a forwarder on
/// <see cref="DefaultPort"/> (or the port asked for) gives clients a stable bootstrap address.
/// </summary>
/// <remarks>
/// Unknown topics are auto-created on first Metadata/Produce with <see cref="AutoCreatedPartitions"/>
/// partitions and replication factor min(3, brokers). Each partition keeps at most 5 MiB or 100,000
/// message sets in memory (older ones are dropped), so this is not a store for large backlogs.
/// The mock has no authentication or TLS.
/// </remarks>
public sealed class EmbeddedKafka : IDisposable
{
    public const int DefaultPort = 19092;
    public const int AutoCreatedPartitions = 4;

    private readonly ILogger? _logger;
    private readonly LoopbackForwarder _forwarder;
    private IntPtr _handle;   // rd_kafka_t that owns the mock cluster's threads
    private IntPtr _cluster;  // rd_kafka_mock_cluster_t
    private int _disposed;

    private EmbeddedKafka(IntPtr handle, IntPtr cluster, string direct, int brokers, LoopbackForwarder forwarder, ILogger? logger)
    {
        _handle = handle;
        _cluster = cluster;
        _forwarder = forwarder;
        _logger = logger;
        DirectBootstrapServers = direct;
        BrokerCount = brokers;
    }

    /// <summary>The address clients should use: the stable forwarded port.</summary>
    public string BootstrapServers => $"127.0.0.1:{Port}";

    /// <summary>The port clients bootstrap through (the preferred one, or a free one if it was taken).</summary>
    public int Port => _forwarder.Port;

    /// <summary>The mock brokers' own ephemeral addresses, "127.0.0.1:port,...".</summary>
    public string DirectBootstrapServers { get; }

    public int BrokerCount { get; }

    /// <param name="preferredPort">null: <see cref="DefaultPort"/>; 0: any free port. Falls back to a free port if taken.</param>
    public static EmbeddedKafka Start(int? preferredPort = null, int brokers = 1, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var errors = new StringBuilder(512);
        var conf = rd_kafka_conf_new();
        // Only the mock's own complaints matter; the handle never talks to a broker itself.
        if (rd_kafka_conf_set(conf, "log_level", "3", errors, (UIntPtr)errors.Capacity) != ConfOk)
        {
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"librdkafka configuration failed: {errors}");
        }
        var handle = rd_kafka_new(ProducerType, conf, errors, (UIntPtr)errors.Capacity); // takes ownership of conf
        if (handle == IntPtr.Zero)
        {
            rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {errors}");
        }

        var cluster = rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed (see librdkafka's log on stderr)");
        }

        // Kafka's 3 s default delays every first consumer-group join; one machine has nothing to wait for.
        rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 100);

        var direct = Marshal.PtrToStringAnsi(rd_kafka_mock_cluster_bootstraps(cluster))
                     ?? throw new InvalidOperationException("mock cluster returned no bootstrap servers");
        var forwarder = LoopbackForwarder.Start(preferredPort ?? DefaultPort, FirstBroker(direct), logger);
        var kafka = new EmbeddedKafka(handle, cluster, direct, brokers, forwarder, logger);
        logger?.LogInformation("Embedded Kafka (librdkafka mock, {Brokers} broker(s), {Library}) listening on {Bootstrap}; brokers at {Direct}",
            brokers, LoadedFrom, kafka.BootstrapServers, direct);
        return kafka;
    }

    private static IPEndPoint FirstBroker(string bootstraps)
    {
        var first = bootstraps.Split(',', StringSplitOptions.RemoveEmptyEntries)[0];
        return IPEndPoint.Parse(first);
    }

    public void CreateTopic(string name, int partitions, int? replicationFactor = null) =>
        Check(rd_kafka_mock_topic_create(Cluster, name, partitions, replicationFactor ?? Math.Min(3, BrokerCount)),
            $"create topic {name}");

    /// <summary>Disconnects the broker and refuses new connections; does not move partition leadership.</summary>
    public void SetBrokerDown(int brokerId) => Check(rd_kafka_mock_broker_set_down(Cluster, brokerId), $"set broker {brokerId} down");

    public void SetBrokerUp(int brokerId) => Check(rd_kafka_mock_broker_set_up(Cluster, brokerId), $"set broker {brokerId} up");

    /// <summary>Adds a round-trip delay to every response of the broker.</summary>
    public void SetBrokerRtt(int brokerId, TimeSpan rtt) =>
        Check(rd_kafka_mock_broker_set_rtt(Cluster, brokerId, (int)rtt.TotalMilliseconds), $"set broker {brokerId} rtt");

    /// <summary>The next requests of kind <paramref name="api"/> fail, one per error, in order, on any broker.</summary>
    public void PushRequestErrors(KafkaApi api, params Confluent.Kafka.ErrorCode[] errors)
    {
        var codes = errors.Select(e => (int)e).ToArray();
        rd_kafka_mock_push_request_errors_array(Cluster, (short)api, (UIntPtr)codes.Length, codes);
    }

    /// <summary>How long a new consumer group waits for more members before the first assignment (100 ms here).</summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay) =>
        rd_kafka_mock_group_initial_rebalance_delay_ms(Cluster, (int)delay.TotalMilliseconds);

    public void ClearRequestErrors(KafkaApi api) => rd_kafka_mock_clear_request_errors(Cluster, (short)api);

    private IntPtr Cluster => Volatile.Read(ref _disposed) == 0 ? _cluster : throw new ObjectDisposedException(nameof(EmbeddedKafka));

    private static void Check(int err, string what)
    {
        if (err != 0) throw new InvalidOperationException($"Embedded Kafka could not {what}: {ErrorText(err)}");
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _forwarder.Dispose();
        // The cluster before the handle that runs its thread; both calls block until their threads have joined.
        rd_kafka_mock_cluster_destroy(_cluster);
        rd_kafka_destroy(_handle);
        _cluster = IntPtr.Zero;
        _handle = IntPtr.Zero;
        _logger?.LogInformation("Embedded Kafka stopped");
    }
}

/// <summary>Kafka protocol request kinds (ApiKey), for <see cref="EmbeddedKafka.PushRequestErrors"/>.</summary>
public enum KafkaApi : short
{
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    InitProducerId = 22,
}
