namespace ComputeNet.Streams.Kafka;

/// <summary>
/// The highest offset seen per consumer and partition: committing these covers every offset added.
/// Bounded by the number of partitions, however many records are added.
/// </summary>
public sealed class CommittableOffsetBatch
{
    // Keyed by topic name and partition number, not a TopicPartition: that would be a new object for every record added.
    private readonly Dictionary<(KafkaConsumerWorker Owner, string Topic, int Partition), CommittableOffset> _highest = new();

    public CommittableOffsetBatch Add(CommittableOffset offset)
    {
        var key = (offset.Owner, offset.Topic, offset.Partition);
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
