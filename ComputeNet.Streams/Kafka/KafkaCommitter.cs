using Akka;
using Akka.Streams.Dsl;
using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// Commits offsets after processing, in batches (<see cref="CommitterSettings.MaxBatch"/> offsets or
/// <see cref="CommitterSettings.MaxInterval"/>, whichever first; the rest when upstream completes).
/// Place it after the processing stages; those must keep order per partition (<c>Select</c>,
/// <c>SelectAsync</c> with any parallelism — it emits in input order — but not <c>SelectAsyncUnordered</c>),
/// because a batch commits the highest offset seen per partition.
/// </summary>
public static class KafkaCommitter
{
    /// <summary>Emits, per batch, the next-offsets (offset + 1) sent to the consumers.</summary>
    public static Flow<CommittableOffset, IReadOnlyList<TopicPartitionOffset>, NotUsed> Flow(CommitterSettings settings) =>
        Akka.Streams.Dsl.Flow.Create<CommittableOffset>()
            .GroupedWithin(settings.MaxBatch, settings.MaxInterval)
            .SelectAsync(1, CommitBatch);

    /// <summary>
    /// Passes each element on once its offset (taken by <paramref name="offsetOf"/>) is committed, in input
    /// order; elements wait for their batch, so at most <see cref="CommitterSettings.MaxInterval"/> longer.
    /// </summary>
    public static Flow<T, T, NotUsed> FlowWithPassThrough<T>(CommitterSettings settings, Func<T, CommittableOffset> offsetOf) =>
        Akka.Streams.Dsl.Flow.Create<T>()
            .GroupedWithin(settings.MaxBatch, settings.MaxInterval)
            .SelectAsync(1, async batch =>
            {
                var elements = batch.ToList();
                await CommitBatch(elements.Select(offsetOf)).ConfigureAwait(false);
                return elements;
            })
            .SelectMany(elements => elements);

    /// <summary>
    /// Commits each batch as it arrives, for a stream that batches already (one batch per checkpoint); emits the
    /// next-offsets committed. Batches must come in order per partition, as for <see cref="Flow"/>.
    /// </summary>
    public static Flow<IReadOnlyList<CommittableOffset>, IReadOnlyList<TopicPartitionOffset>, NotUsed> EachBatch() =>
        Akka.Streams.Dsl.Flow.Create<IReadOnlyList<CommittableOffset>>().SelectAsync(1, batch => CommitBatch(batch));

    /// <summary>Materializes a task that completes after the final commit, or fails with the first failed commit.</summary>
    public static Sink<CommittableOffset, Task<Done>> Sink(CommitterSettings settings) =>
        Flow(settings).ToMaterialized(Akka.Streams.Dsl.Sink.Ignore<IReadOnlyList<TopicPartitionOffset>>(), Keep.Right);

    private static async Task<IReadOnlyList<TopicPartitionOffset>> CommitBatch(IEnumerable<CommittableOffset> batch)
    {
        // After a restart one batch can hold offsets of two consumers; each commits only through its own.
        var perConsumer = batch
            .GroupBy(o => o.Owner)
            .Select(owner => (owner.Key, Offsets: owner
                .GroupBy(o => (o.Topic, o.Partition))
                .Select(p => new TopicPartitionOffset(p.Key.Topic, p.Key.Partition, new Offset(p.Max(o => o.Offset) + 1)))
                .ToList()))
            .ToList();
        await Task.WhenAll(perConsumer.Select(c => c.Key.Commit(c.Offsets))).ConfigureAwait(false);
        return perConsumer.SelectMany(c => c.Offsets).ToList();
    }
}
