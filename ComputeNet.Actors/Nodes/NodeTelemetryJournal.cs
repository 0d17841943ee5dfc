using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;

namespace ComputeNet.Actors.Nodes;

/// <summary>
/// What a telemetry checkpoint adds to the durable telemetry: the windows aggregated since the previous one,
/// the latest sample and the seq reached, and the forecaster's open interval plus the intervals it closed since.
/// With <paramref name="Reset"/> it starts from empty (a new registration brings a new agent). Written by
/// <see cref="NodeTelemetryJournal"/>, never tagged.
/// </summary>
public sealed record NodeTelemetryCheckpointed(
    string NodeId,
    long HighestSeq,
    long AppliedSamples,
    NodeUsageSample? Latest,
    IReadOnlyList<NodeUsageWindow> NewWindows,
    int HistoryLimit,
    bool Reset,
    ForecastCheckpoint? Forecast = null) : IComputeNetEvent
{
    public bool Equals(NodeTelemetryCheckpointed? other) =>
        other is not null && NodeId == other.NodeId && HighestSeq == other.HighestSeq && AppliedSamples == other.AppliedSamples
        && Equals(Latest, other.Latest) && NewWindows.SequenceEqual(other.NewWindows) && HistoryLimit == other.HistoryLimit && Reset == other.Reset
        && Equals(Forecast, other.Forecast);

    public override int GetHashCode() => HashCode.Combine(NodeId, HighestSeq, AppliedSamples, NewWindows.Count);

    /// <summary>The durable telemetry after this checkpoint.</summary>
    public NodeTelemetryJournalState ApplyTo(NodeTelemetryJournalState state)
    {
        var history = BoundedHistory.Extend(Reset ? [] : state.Telemetry.History, NewWindows, HistoryLimit);
        var forecast = Forecast?.ApplyTo(Reset ? LiveForecastState.Empty : state.Forecast) ?? (Reset ? LiveForecastState.Empty : state.Forecast);
        return new NodeTelemetryJournalState(new NodeTelemetryState(HighestSeq, AppliedSamples, Latest, history), forecast);
    }

    /// <summary>The checkpoint that brings durable telemetry up to <paramref name="live"/>, given how many windows it gained since the last one.</summary>
    public static NodeTelemetryCheckpointed Of(string nodeId, NodeTelemetryState live, int windowsSinceLast, int historyLimit, bool reset, ForecastCheckpoint? forecast) =>
        new(nodeId, live.HighestSeq, live.AppliedSamples, live.Latest,
            live.History.Skip(Math.Max(0, live.History.Count - windowsSinceLast)).ToArray(), historyLimit, reset, forecast);
}

/// <summary>
/// The forecaster's part of a checkpoint: its open interval, and the closed intervals since the previous checkpoint
/// (all of them, <paramref name="Replace"/>, when the forecaster was rebuilt in between, e.g. for a new spec).
/// <paramref name="Metrics"/> is null when unchanged since the previous checkpoint: a node's metrics change only with a
/// new forecaster, and repeating them was ~300 of a telemetry checkpoint's ~1,360 bytes, written for every node each second.
/// </summary>
public sealed record ForecastCheckpoint(
    IReadOnlyList<LiveMetric>? Metrics,
    long OpenInterval,
    IReadOnlyList<double> OpenSums,
    int OpenSamples,
    IReadOnlyList<ClosedInterval> NewHistory,
    int HistoryLimit,
    bool Replace)
{
    public bool Equals(ForecastCheckpoint? other) =>
        other is not null && (Metrics ?? []).SequenceEqual(other.Metrics ?? []) && (Metrics is null) == (other.Metrics is null) && OpenInterval == other.OpenInterval && OpenSums.SequenceEqual(other.OpenSums)
        && OpenSamples == other.OpenSamples && NewHistory.SequenceEqual(other.NewHistory) && HistoryLimit == other.HistoryLimit && Replace == other.Replace;

    public override int GetHashCode() => HashCode.Combine(OpenInterval, OpenSamples, NewHistory.Count);

    public LiveForecastState ApplyTo(LiveForecastState state)
    {
        var history = BoundedHistory.Extend(Replace ? [] : state.History, NewHistory, HistoryLimit);
        return new LiveForecastState(Metrics ?? state.Metrics, OpenInterval, OpenSums, OpenSamples, history);
    }

    /// <param name="withMetrics">Whether the durable state may lack or differ in the metrics (a new forecaster, or telemetry reset).</param>
    public static ForecastCheckpoint Of(LiveForecastState live, long closedSinceLast, int historyLimit, bool replace, bool withMetrics) =>
        new(withMetrics ? live.Metrics : null, live.OpenInterval, live.OpenSums, live.OpenSamples,
            replace ? live.History : live.History.Skip((int)Math.Max(0, live.History.Count - closedSinceLast)).ToArray(), historyLimit, replace);
}

/// <summary>Checkpoints and windows append to histories that keep only their latest entries.</summary>
internal static class BoundedHistory
{
    /// <summary>The latest <paramref name="limit"/> entries of kept followed by added, copied once (this runs per node per window).</summary>
    public static T[] Extend<T>(IReadOnlyList<T> kept, IReadOnlyList<T> added, int limit)
    {
        var length = Math.Min(limit, kept.Count + added.Count);
        var history = new T[length];
        var fromAdded = Math.Min(length, added.Count);
        var fromKept = length - fromAdded;
        for (var i = 0; i < fromKept; i++) history[i] = kept[kept.Count - fromKept + i];
        for (var i = 0; i < fromAdded; i++) history[fromKept + i] = added[added.Count - fromAdded + i];
        return history;
    }
}

/// <summary>What the telemetry journal holds for its node (and snapshots).</summary>
public sealed record NodeTelemetryJournalState(NodeTelemetryState Telemetry, LiveForecastState Forecast) : IComputeNetSnapshot
{
    public static NodeTelemetryJournalState Empty { get; } = new(NodeTelemetryState.Empty, LiveForecastState.Empty);
}

/// <summary>
/// The durable half of a node's telemetry, a child of its <see cref="NodeActor"/>. Checkpoints are journal
/// events because the SQL journal writes many actors' events in one batched transaction, where the snapshot
/// store writes one row per round trip — the difference between keeping up with 10,000 nodes and not. Every
/// <c>snapshotEvery</c> checkpoints it snapshots and deletes the events behind the snapshot, so storage stays
/// bounded; the node's own journal keeps only lifecycle events (the audit trail).
/// </summary>
public sealed class NodeTelemetryJournal : ReceivePersistentActor
{
    /// <summary>Told to the parent once recovered: the telemetry as last checkpointed.</summary>
    public sealed record Restored(NodeTelemetryJournalState State);

    /// <summary>Told to the parent when a checkpoint is durable.</summary>
    public sealed record Saved(long HighestSeq);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly int _snapshotEvery;
    private NodeTelemetryJournalState _telemetry = NodeTelemetryJournalState.Empty;
    private long _snapshotSequenceNr;

    public NodeTelemetryJournal(string nodeId, int snapshotEvery)
    {
        PersistenceId = PersistenceIds.NodeTelemetry(nodeId);
        // Staggered per node, so 10,000 nodes checkpointed together do not all snapshot together.
        _snapshotEvery = snapshotEvery + (int)((uint)StringComparer.Ordinal.GetHashCode(nodeId) % (uint)Math.Max(1, snapshotEvery / 2));

        Recover<NodeTelemetryCheckpointed>(e => _telemetry = e.ApplyTo(_telemetry));
        Recover<SnapshotOffer>(offer =>
        {
            _snapshotSequenceNr = offer.Metadata.SequenceNr;
            if (offer.Snapshot is NodeTelemetryJournalState snapshot) _telemetry = snapshot;
        });
        Command<NodeTelemetryCheckpointed>(checkpoint => PersistAsync(checkpoint, persisted =>
        {
            _telemetry = persisted.ApplyTo(_telemetry);
            Context.Parent.Tell(new Saved(persisted.HighestSeq));
            if (LastSequenceNr - _snapshotSequenceNr >= _snapshotEvery)
            {
                _snapshotSequenceNr = LastSequenceNr;
                SaveSnapshot(_telemetry);
            }
        }));
        Command<SaveSnapshotSuccess>(success =>
        {
            DeleteMessages(success.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
        });
        // A failed compaction costs storage, not correctness: the events are still there.
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Snapshot of {0} failed", PersistenceId));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failure => _log.Warning(failure.Cause, "Compacting {0} failed", PersistenceId));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
    }

    public override string PersistenceId { get; }

    protected override void OnReplaySuccess() => Context.Parent.Tell(new Restored(_telemetry));

    public static Props Props(string nodeId, int snapshotEvery) => Akka.Actor.Props.Create(() => new NodeTelemetryJournal(nodeId, snapshotEvery));
}
