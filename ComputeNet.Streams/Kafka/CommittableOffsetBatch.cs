using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// The highest offset seen per consumer and partition: committing these covers every offset added.
/// Bounded by the number of partitions, however many records are added.
/// </summary>
public sealed class CommittableOffsetBatch
{
    private readonly Dictionary<(KafkaConsumerWorker Owner, TopicPartition Partition), CommittableOffset> _highest = new();

    public CommittableOffsetBatch Add(CommittableOffset offset)
    {
        var key = (offset.Owner, offset.TopicPartitionOffset.TopicPartition);
        if (!_highest.TryGetValue(key, out var known) || known.Offset < offset.Offset) _highest[key] = offset;
        return this;
    }

    public CommittableOffsetBatch AddAll(IEnumerable<CommittableOffset> offsets)
    {
        foreach (var offset in offsets) Add(offset);
        return this;
    }

    public IReadOnlyList<CommittableOffset> Offsets => _highest.Values.ToList();
}
