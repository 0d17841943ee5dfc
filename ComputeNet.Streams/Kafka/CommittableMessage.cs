using System.Text;
using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// A consumed record with the raw key and value bytes (so validation can dead-letter the original bytes)
/// and the handle that commits it once its effect is done. Only these are kept of what the client
/// delivered (not its result, message and headers objects): a telemetry window holds up to 100,000 of them.
/// </summary>
public sealed class CommittableMessage
{
    private readonly byte[]? _key;

    internal CommittableMessage(byte[]? key, byte[]? value, CommittableOffset committableOffset)
    {
        _key = key;
        Value = value;
        CommittableOffset = committableOffset;
    }

    /// <summary>The key decoded as UTF-8, or null.</summary>
    public string? Key => _key is { } key ? Encoding.UTF8.GetString(key) : null;

    /// <summary>The key's bytes (empty without a key: see <see cref="HasKey"/>).</summary>
    public ReadOnlySpan<byte> KeyBytes => _key;

    public bool HasKey => _key is not null;

    public byte[]? Value { get; }

    public CommittableOffset CommittableOffset { get; }

    public string Topic => CommittableOffset.Topic;

    public int Partition => CommittableOffset.Partition;

    public long Offset => CommittableOffset.Offset;
}

/// <summary>
/// The position of one consumed record, bound to the consumer that owns its partition: committing it
/// commits offset + 1 through that consumer. Commits of partitions the consumer no longer owns, or after
/// it shut down, are skipped (the record will be redelivered to the new owner: at-least-once).
/// </summary>
public sealed class CommittableOffset
{
    internal CommittableOffset(KafkaConsumerWorker owner, string topic, int partition, long offset)
    {
        Owner = owner;
        Topic = topic;
        Partition = partition;
        Offset = offset;
    }

    internal KafkaConsumerWorker Owner { get; }

    public string Topic { get; }

    public int Partition { get; }

    public long Offset { get; }

    public TopicPartition TopicPartition => new(Topic, Partition);

    public override string ToString() => $"{Topic}[{Partition}]@{Offset}";
}

/// <summary>Materialized by <see cref="KafkaSource.Committable"/>: stops and shuts down the consumer in order.</summary>
public interface IKafkaControl
{
    /// <summary>
    /// Stops fetching and completes the source (buffered, not yet emitted messages are dropped: uncommitted,
    /// so redelivered later). The consumer stays open so elements in flight can still be committed.
    /// Completes when the source has completed.
    /// </summary>
    Task Stop();

    /// <summary>Stops, then closes (leaves the group) and disposes the consumer. Completes as <see cref="IsShutdown"/>.</summary>
    Task Shutdown();

    /// <summary>
    /// The orderly end: <see cref="Stop"/>, wait for the whole stream (including the committer's final
    /// commit) to complete, then <see cref="Shutdown"/>. Returns the stream's result.
    /// </summary>
    Task<T> DrainAndShutdown<T>(Task<T> streamCompletion);

    /// <summary>Completes when the consumer has been closed and disposed.</summary>
    Task IsShutdown { get; }

    /// <summary>Messages fetched but not yet emitted downstream.</summary>
    int Buffered { get; }

    /// <summary>The most messages ever buffered at once; never above <see cref="ConsumerSettings.BufferSize"/>.</summary>
    int MaxBuffered { get; }

    /// <summary>The partitions this consumer owns right now.</summary>
    IReadOnlyCollection<TopicPartition> Assignment { get; }

    /// <summary>Consumer lag per owned partition (records not yet fetched), refreshed about once a second.</summary>
    IReadOnlyDictionary<TopicPartition, long> Lag { get; }
}
