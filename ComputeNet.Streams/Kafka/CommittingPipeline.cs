using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// topic → handle each record → commit. Records are handled with bounded parallelism in order (SelectAsync
/// keeps order, so a committed offset never passes an unfinished record); a broker or journal failure
/// restarts the source with backoff from the last committed offset, so every record's effect happens at
/// least once. <paramref name="handle"/> completes only when the record's effect is durable.
/// </summary>
public static class CommittingPipeline
{
    public static (UniqueKillSwitch KillSwitch, Task Completion) Run(
        IMaterializer materializer, ConsumerSettings consumer, string topic, Func<CommittableMessage, Task> handle, int parallelism = 8)
    {
        var restarting = RestartSource.OnFailuresWithBackoff(
            () => KafkaSource.Committable(consumer, topic)
                .SelectAsync(parallelism, async message =>
                {
                    await handle(message);
                    return message.CommittableOffset;
                }),
            RestartSettings.Create(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2));

        return restarting
            .ViaMaterialized(KillSwitches.Single<CommittableOffset>(), Keep.Right)
            .ToMaterialized(KafkaCommitter.Sink(CommitterSettings.Default with { MaxInterval = TimeSpan.FromMilliseconds(500) }), Keep.Both)
            .Run(materializer);
    }
}
