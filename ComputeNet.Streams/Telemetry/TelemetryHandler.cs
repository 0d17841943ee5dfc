using System.Diagnostics.Metrics;
using Akka.Actor;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Streams.Kafka;
using static ComputeNet.Actors.Nodes.NodeReplies;
using static ComputeNet.Actors.Topology.TopologyReplies;

namespace ComputeNet.Streams.Telemetry;

public sealed record TelemetrySettings(TopicNames Topics, TimeSpan AskTimeout)
{
    public TelemetryLimits Limits { get; init; } = TelemetryLimits.Default;

    /// <summary>The tumbling aggregation interval: windows close at least this often.</summary>
    public TimeSpan AggregationInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A window closes early at this many records: the bound on what the stream holds in memory. While one window is
    /// applied the next one fills, so under a backlog windows grow towards this bound and each node's message carries
    /// more samples; the cost per record then falls as the load rises, instead of one message per node and record.
    /// </summary>
    public int MaxRecordsPerWindow { get; init; } = 100_000;

    /// <summary>
    /// A window also closes once no record has arrived for this long, and is then checkpointed and committed without
    /// waiting for the intervals: after a burst, or under a light load, records are applied and committed promptly. Under a
    /// steady load records keep coming and windows close on the interval or the bound. Zero turns this off.
    /// </summary>
    public TimeSpan WindowQuiet { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often applied telemetry is made durable (snapshots) and its offsets committed.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>What one applied window leaves to the checkpoint: the nodes it touched (with the seq they reached) and its offsets.</summary>
public sealed record WindowApplied(IReadOnlyDictionary<string, long> NodesHighestSeq, bool TopologyTouched, IReadOnlyList<CommittableOffset> Offsets, int Records)
{
    /// <summary>An empty window: the stream went quiet just after a window closed on the bound or the interval.</summary>
    public static WindowApplied Empty { get; } = new(new Dictionary<string, long>(), false, [], 0);
}

/// <summary>
/// Applies a window: node batches to their NodeActors, link batches to the topology after the
/// reporter is authenticated by its NodeActor, and rejected records to the dead-letter topic. The task
/// completes when every effect is applied and every dead letter acknowledged by Kafka.
/// </summary>
public sealed class TelemetryHandler(IActorRef nodeRegion, IActorRef topology, KafkaPublisher publisher, TelemetrySettings settings, TimeProvider clock)
{
    private static long _applied, _duplicates, _deadLettered, _windows;

    // Observed rather than pushed: prometheus-net's meter adapter exports observable instruments reliably here.
    private static readonly ObservableCounter<long> Records = ComputeNetMeter.Instance.CreateObservableCounter("telemetry_records_total", () => new[]
    {
        new Measurement<long>(Interlocked.Read(ref _applied), new KeyValuePair<string, object?>("outcome", "applied")),
        new Measurement<long>(Interlocked.Read(ref _duplicates), new KeyValuePair<string, object?>("outcome", "duplicate")),
        new Measurement<long>(Interlocked.Read(ref _deadLettered), new KeyValuePair<string, object?>("outcome", "dead-lettered")),
    }, description: "telemetry records ingested, by outcome (applied, duplicate, dead-lettered); rate() is the ingest rate");
    private static readonly ObservableCounter<long> Windows = ComputeNetMeter.Instance.CreateObservableCounter("telemetry_windows_total",
        () => Interlocked.Read(ref _windows), description: "aggregation windows applied");

    private long _recordsParsed, _recordsApplied;

    /// <summary>Records that entered the pipeline (the benchmark paces its producer by it).</summary>
    public long RecordsParsed => Interlocked.Read(ref _recordsParsed);

    /// <summary>Records whose window has been applied (valid, duplicate or dead-lettered), before their checkpoint and commit.</summary>
    public long RecordsApplied => Interlocked.Read(ref _recordsApplied);

    public TelemetryRecord<CommittableMessage> Parse(CommittableMessage message)
    {
        Interlocked.Increment(ref _recordsParsed);
        try
        {
            return ParseChecked(message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            // A record must never stop the pipeline: whatever the parser chokes on is dead-lettered.
            return new TelemetryRecord<CommittableMessage>(message, null, null, $"malformed JSON: {e.Message}");
        }
    }

    private TelemetryRecord<CommittableMessage> ParseChecked(CommittableMessage message)
    {
        var now = clock.GetUtcNow();
        // Every record of a node (or link) carries the same key.
        var key = message.HasKey ? Utf8StringPool.Shared.Get(message.KeyBytes) : null;
        if (message.Topic == settings.Topics.LinkTelemetry)
        {
            var link = TelemetryParser.ParseLink(key, message.Value, message.Value is null, now, settings.Limits);
            return new TelemetryRecord<CommittableMessage>(message, null, link.Value, link.Reason);
        }
        var node = TelemetryParser.ParseNode(key, message.Value, message.Value is null, now, settings.Limits);
        return new TelemetryRecord<CommittableMessage>(message, node.Value, null, node.Reason);
    }

    public async Task<WindowApplied> ApplyAsync(TelemetryWindow<CommittableMessage> window)
    {
        var deadLetters = new List<Task>();
        foreach (var (message, reason) in window.Invalid) deadLetters.Add(DeadLetter(message, reason));

        var nodeTask = BatchAsk.AskAll<NodeCommands.RecordNodeTelemetry, NodeTelemetryRecorded>(nodeRegion,
            window.Nodes.Select(batch => new NodeCommands.RecordNodeTelemetry(batch.NodeId, batch.AgentToken, batch.Samples)).ToArray(),
            command => command.NodeId, reply => reply.NodeId, settings.AskTimeout);
        var links = await ApplyLinks(window.Links);
        var nodeResults = await nodeTask;

        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        long applied = 0, duplicates = 0;
        for (var i = 0; i < nodeResults.Length; i++)
        {
            var (batch, recorded) = (window.Nodes[i], nodeResults[i]);
            applied += recorded.Applied;
            duplicates += recorded.Duplicates;
            if (recorded.Applied > 0) highest[batch.NodeId] = Math.Max(highest.GetValueOrDefault(batch.NodeId, -1), recorded.HighestSeq);
            foreach (var rejection in recorded.Rejections) deadLetters.Add(DeadLetter(batch.Sources[rejection.Index], rejection.Reason));
        }
        var topologyTouched = false;
        foreach (var recorded in links.Recorded)
        {
            applied += recorded.Applied;
            duplicates += recorded.Duplicates;
            topologyTouched |= recorded.Applied > 0;
        }
        foreach (var (message, reason) in links.Rejections) deadLetters.Add(DeadLetter(message, reason));
        await Task.WhenAll(deadLetters);

        Interlocked.Add(ref _applied, applied);
        Interlocked.Add(ref _duplicates, duplicates);
        Interlocked.Add(ref _deadLettered, deadLetters.Count);
        Interlocked.Increment(ref _windows);
        Interlocked.Add(ref _recordsApplied, window.Records);
        return new WindowApplied(highest, topologyTouched, LastOffsets(window), window.Records);
    }

    /// <summary>
    /// Authenticates every link batch's reporter, then records the accepted ones in the topology, each step one
    /// <see cref="BatchAsk"/> for the whole window (as for nodes) instead of an <c>Ask</c> per link.
    /// </summary>
    private async Task<(IReadOnlyList<LinkTelemetryRecorded> Recorded, List<(CommittableMessage, string)> Rejections)> ApplyLinks(
        IReadOnlyList<LinkBatch<CommittableMessage>> batches)
    {
        var rejections = new List<(CommittableMessage, string)>();
        if (batches.Count == 0) return ([], rejections);
        // A node may report only its own links: the token must be the src's or the dst's agent token.
        var bySrc = await Authenticate(batches.Select(batch => new NodeCommands.AuthenticateAgent(batch.Src, batch.AgentToken)).ToArray());
        var notBySrc = Enumerable.Range(0, batches.Count).Where(i => !bySrc[i].Accepted).ToArray();
        var byDst = await Authenticate(notBySrc.Select(i => new NodeCommands.AuthenticateAgent(batches[i].Dst, batches[i].AgentToken)).ToArray());
        var reporters = batches.Select(batch => (string?)batch.Src).ToArray();
        for (var k = 0; k < notBySrc.Length; k++)
        {
            var i = notBySrc[k];
            if (byDst[k].Accepted)
            {
                reporters[i] = batches[i].Dst;
                continue;
            }
            reporters[i] = null;
            var reason = $"agentToken is not that of either endpoint, and a node may only report links it is an endpoint of (src: {bySrc[i].Reason}; dst: {byDst[k].Reason})";
            rejections.AddRange(batches[i].Sources.Select(source => (source, reason)));
        }
        var commands = Enumerable.Range(0, batches.Count).Where(i => reporters[i] is not null)
            .Select(i => new TopologyCommands.RecordLinkTelemetry(batches[i].Src, batches[i].Dst, reporters[i]!, batches[i].Samples)).ToArray();
        var recorded = await BatchAsk.AskAll<TopologyCommands.RecordLinkTelemetry, LinkTelemetryRecorded>(topology, commands,
            command => LinkKeys.Of(command.Src, command.Dst), reply => LinkKeys.Of(reply.Src, reply.Dst), settings.AskTimeout);
        return (recorded, rejections);
    }

    private Task<AgentAuthentication[]> Authenticate(NodeCommands.AuthenticateAgent[] commands) =>
        BatchAsk.AskAll<NodeCommands.AuthenticateAgent, AgentAuthentication>(nodeRegion, commands,
            command => command.NodeId, reply => reply.NodeId, settings.AskTimeout);

    private Task DeadLetter(CommittableMessage message, string reason)
    {
        var letter = DeadLetterRecord.Create(reason, message.Topic, message.Partition, message.Offset, message.Key, message.Value, clock.GetUtcNow());
        DeadLetterMetrics.Add(message.Topic, reason);
        return publisher.PublishAsync(settings.Topics.DeadLetter, message.Key, letter.ToJsonBytes());
    }

    /// <summary>The highest offset per consumer and partition: committing it covers the whole window.</summary>
    private static IReadOnlyList<CommittableOffset> LastOffsets(TelemetryWindow<CommittableMessage> window)
    {
        var batch = new CommittableOffsetBatch();
        foreach (var source in window.Nodes) batch.AddAll(source.Sources.Select(m => m.CommittableOffset));
        foreach (var source in window.Links) batch.AddAll(source.Sources.Select(m => m.CommittableOffset));
        batch.AddAll(window.Invalid.Select(invalid => invalid.Source.CommittableOffset));
        return batch.Offsets;
    }
}
