using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Streams.Kafka;
using Confluent.Kafka;

namespace ComputeNet.Streams.Telemetry;

/// <summary>
/// node and link telemetry → parse and validate → tumbling windows grouped by entity (closed on the interval, the record
/// bound, or when the stream goes quiet) → NodeActors and
/// the topology (Ask: back-pressure) → dead letters → checkpoint (node telemetry journals, topology snapshot) → commit.
/// <para>
/// At-least-once end to end: a window's offsets are committed only after it is applied and the touched
/// actors have made it durable (checkpoint); after a crash the uncommitted records are replayed and the actors' highest
/// applied seq makes the replay change nothing twice. Windows are applied one at a time, in order, so
/// per-partition (and per-node) order holds. Everything from the consumer to the committer restarts with
/// back-off on a failure (broker away, failed commit, Ask timeout) from the last committed offsets.
/// </para>
/// </summary>
public static class TelemetryPipeline
{
    public static (UniqueKillSwitch KillSwitch, Task Completion) Run(
        IMaterializer materializer, ConsumerSettings consumer, TelemetryHandler handler, TelemetrySettings settings,
        IActorRef nodeRegion, IActorRef topology, Action<IKafkaControl>? onConsumer = null, Action<IReadOnlyList<TopicPartitionOffset>>? onCommitted = null)
    {
        var restarting = RestartSource.OnFailuresWithBackoff(
            () => Checkpoints(consumer, handler, settings, nodeRegion, topology, onConsumer)
                // Checkpoints already come at most once per interval: each one's offsets are committed as it completes.
                .Via(KafkaCommitter.EachBatch()),
            RestartSettings.Create(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 0.2));

        return restarting
            .ViaMaterialized(KillSwitches.Single<IReadOnlyList<TopicPartitionOffset>>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<IReadOnlyList<TopicPartitionOffset>>(committed => onCommitted?.Invoke(committed)), Keep.Both)
            .MapMaterializedValue(pair => (pair.Item1, (Task)pair.Item2))
            .Run(materializer);
    }

    /// <summary>The stream up to each checkpoint's offsets, ready to commit.</summary>
    private static Source<IReadOnlyList<CommittableOffset>, NotUsed> Checkpoints(
        ConsumerSettings consumer, TelemetryHandler handler, TelemetrySettings settings, IActorRef nodeRegion, IActorRef topology,
        Action<IKafkaControl>? onConsumer = null) =>
        KafkaSource.Committable(consumer, settings.Topics.NodeTelemetry, settings.Topics.LinkTelemetry)
            .MapMaterializedValue(control =>
            {
                onConsumer?.Invoke(control);
                return NotUsed.Instance;
            })
            .Select(handler.Parse)
            // Async boundaries: consuming and parsing, applying, and checkpointing each run in their own
            // interpreter, so a window being applied never stalls the consumer.
            .Async()
            .Via(new QuietClosingGroups<TelemetryRecord<CommittableMessage>>(settings.MaxRecordsPerWindow, settings.AggregationInterval, settings.WindowQuiet))
            .Select(group =>
            {
                if (group.Quiet) CheckpointMetrics.WindowClosedQuiet();
                return (Window: TelemetryWindow<CommittableMessage>.Build(group.Elements), group.Quiet);
            })
            .SelectAsync(1, async closed => (Applied: closed.Window.Records == 0 ? WindowApplied.Empty : await handler.ApplyAsync(closed.Window), closed.Quiet))
            .Async()
            // Windows applied while a checkpoint runs or waits for its interval fold into the next one (bounded: one
            // entry per node and partition), so a slow store lengthens the commit lag, never the apply path. A window
            // that closed because the stream went quiet is checkpointed without waiting out the interval: nothing
            // more is coming to share the checkpoint with, and its records are committed at once.
            .Via(new PacedConflate<(WindowApplied Applied, bool Quiet), PendingCheckpoint>(
                window => PendingCheckpoint.Of(window.Applied), (pending, window) => pending.Add(window.Applied), settings.CheckpointInterval,
                handOverAtOnce: window => window.Quiet))
            .SelectAsync(1, pending => Checkpoint(pending, nodeRegion, topology, settings.AskTimeout));

    /// <summary>Checkpoints every node (and the topology) the windows touched, then releases their offsets.</summary>
    private static async Task<IReadOnlyList<CommittableOffset>> Checkpoint(
        PendingCheckpoint pending, IActorRef nodeRegion, IActorRef topology, TimeSpan timeout)
    {
        // Windows of dead letters and duplicates only (or the empty quiet one) leave nothing to make durable.
        if (pending.NodesHighestSeq.Count == 0 && !pending.TopologyTouched) return pending.Offsets;
        var checkpoints = new List<Task>
        {
            BatchAsk.AskAll<NodeCommands.CheckpointTelemetry, NodeReplies.TelemetryCheckpointed>(nodeRegion,
                pending.NodesHighestSeq.Select(pair => new NodeCommands.CheckpointTelemetry(pair.Key, pair.Value)).ToArray(),
                command => command.NodeId, reply => reply.NodeId, timeout),
        };
        if (pending.TopologyTouched)
            checkpoints.Add(topology.Ask<TopologyReplies.TopologyCheckpointed>(new TopologyCommands.CheckpointTopology(), timeout));
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(checkpoints);
        CheckpointMetrics.Completed(Stopwatch.GetElapsedTime(started), pending.NodesHighestSeq.Count);
        return pending.Offsets;
    }

    /// <summary>Applied windows not yet checkpointed, folded together: the highest seq per node and the last offset per partition.</summary>
    private sealed class PendingCheckpoint
    {
        private readonly CommittableOffsetBatch _offsets = new();

        public Dictionary<string, long> NodesHighestSeq { get; } = new(StringComparer.Ordinal);

        public bool TopologyTouched { get; private set; }

        public IReadOnlyList<CommittableOffset> Offsets => _offsets.Offsets;

        public static PendingCheckpoint Of(WindowApplied window) => new PendingCheckpoint().Add(window);

        public PendingCheckpoint Add(WindowApplied window)
        {
            foreach (var (node, seq) in window.NodesHighestSeq)
                NodesHighestSeq[node] = NodesHighestSeq.TryGetValue(node, out var known) ? Math.Max(known, seq) : seq;
            TopologyTouched |= window.TopologyTouched;
            _offsets.AddAll(window.Offsets);
            return this;
        }
    }
}
