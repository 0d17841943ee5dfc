using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Drift;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Topology;
using static ComputeNet.Actors.Apps.AppAdjustmentCommands;
using static ComputeNet.Actors.Apps.AppAdjustmentReplies;

namespace ComputeNet.Actors.Scheduling;

/// <param name="CheckInterval">how often every running app is reviewed without a drift event (forecast-aware checks, deregistrations missed by none).</param>
/// <param name="Debounce">drift events arriving within this long are assessed together.</param>
/// <param name="UseForecasts">review against the node and link forecasts as well (move before a constraint breaks).</param>
public sealed record ReschedulerSettings(
    TimeSpan? CheckInterval = null,
    TimeSpan? Debounce = null,
    AdjustmentOptions? Adjustment = null,
    bool UseForecasts = true,
    TimeSpan? AskTimeout = null)
{
    public TimeSpan Check => CheckInterval ?? TimeSpan.FromSeconds(30);

    public TimeSpan Wait => Debounce ?? TimeSpan.FromMilliseconds(200);

    public AdjustmentOptions Options => Adjustment ?? new AdjustmentOptions();

    public TimeSpan Timeout => AskTimeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>Where the rescheduler reads the live fleet and reaches the apps.</summary>
public sealed record ReschedulerRefs(IActorRef NodeRegion, IActorRef NodeDirectory, IActorRef Topology, IActorRef AppDirectory, IActorRef AppRegion);

public static class ReschedulerProtocol
{
    /// <summary>Review every running app now (also what the periodic check sends itself); a sender gets <see cref="ReviewDone"/>.</summary>
    public sealed record ReviewNow(string Trigger) : IComputeNetMessage;

    /// <summary>The review that included the asked one is complete: every app it affected has answered.</summary>
    /// <param name="Trigger">everything the review covered (triggers that arrived together are reviewed together).</param>
    public sealed record ReviewDone(string Trigger, int Adjustments, int Degradations) : IComputeNetMessage;

    /// <summary>Answered with <see cref="ReschedulerStatus"/>.</summary>
    public sealed record GetReschedulerStatus : IComputeNetMessage;

    /// <param name="Assessments">reviews completed (every affected app told).</param>
    /// <param name="LastTrigger">what set off the last completed review.</param>
    public sealed record ReschedulerStatus(long Offset, int Assessments, int Adjustments, int Degradations, string? LastTrigger) : IComputeNetMessage;
}

/// <summary>
/// The rescheduler (运行调整 trigger), one per member that hosts it: follows the journal's "drift" tag (node and
/// link drift, down and up, deregistration, capacity change) from its persisted offset, and reviews every running
/// app on each batch of events, on a periodic forecast-aware check, and when an app the stability policy held back
/// is due. A review reads the live fleet, runs the pure <see cref="AdjustmentPlanner"/>, and tells each affected
/// <see cref="AppActor"/> to adjust (or that it runs degraded, or recovered). The offset is saved only after the
/// apps answered, so a restart re-assesses (never skips) the last events; apps refuse stale or duplicate moves.
/// </summary>
public sealed class ReschedulerActor : ReceivePersistentActor, IWithTimers
{
    public const string Id = "rescheduler";

    private const string HeldSuffix = " (held back by the stability policy until now)";

    private sealed record StreamInit;
    private sealed record StreamAck;
    private sealed record StreamDone(Exception? Cause);
    private sealed record ResumeStream;
    private sealed record AssessNow;
    private sealed record Loaded(AdjustmentInput Input, string Trigger, long Offset, IReadOnlyList<IActorRef> Requesters);
    private sealed record LoadFailed(Exception Cause, string Trigger, long Offset, IReadOnlyList<IActorRef> Requesters);
    private sealed record Told(long Offset, string Trigger, int Adjusted, int Degraded, IReadOnlyList<IActorRef> Requesters);

    private readonly IEventsByTagQuery _readJournal;
    private readonly ICurrentPersistenceIdsQuery _persistenceIds;
    private readonly ReschedulerRefs _refs;
    private readonly ReschedulerSettings _settings;
    private readonly TimeProvider _clock;
    private readonly StabilityPolicy _stability;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly List<string> _pendingTriggers = [];
    private readonly List<IActorRef> _requesters = []; // asked for a review that has not started yet
    private long _offset;
    private long _seenOffset;
    private bool _assessing;
    private int _assessments;
    private int _adjustments;
    private int _degradations;
    private string? _lastTrigger;

    public ReschedulerActor(IEventsByTagQuery readJournal, ICurrentPersistenceIdsQuery persistenceIds, ReschedulerRefs refs, ReschedulerSettings settings,
        TimeProvider clock)
    {
        _readJournal = readJournal;
        _persistenceIds = persistenceIds;
        _refs = refs;
        _settings = settings;
        _clock = clock;
        _stability = new StabilityPolicy(settings.Options.Stability);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ProjectionCheckpoint checkpoint) _offset = _seenOffset = checkpoint.Offset;
        });

        Command<StreamInit>(_ => Sender.Tell(new StreamAck()));
        Command<EventEnvelope>(envelope =>
        {
            _pendingTriggers.Add(Describe(envelope.Event));
            if (envelope.Offset is Sequence sequence) _seenOffset = sequence.Value;
            Sender.Tell(new StreamAck());
            Timers.StartSingleTimer(nameof(AssessNow), new AssessNow(), _settings.Wait);
        });
        Command<StreamDone>(done =>
        {
            _log.Warning(done.Cause, "The drift stream of the rescheduler stopped; resuming from offset {0}", _seenOffset);
            Timers.StartSingleTimer(nameof(ResumeStream), new ResumeStream(), TimeSpan.FromSeconds(1));
        });
        Command<ResumeStream>(_ => Run(_seenOffset));
        Command<ReschedulerProtocol.ReviewNow>(review =>
        {
            _pendingTriggers.Add(review.Trigger);
            if (!Sender.IsNobody() && !Sender.Equals(Self)) _requesters.Add(Sender);
            Self.Tell(new AssessNow());
        });
        Command<AssessNow>(_ => Assess());
        Command<Loaded>(OnLoaded);
        Command<LoadFailed>(failed =>
        {
            _log.Warning(failed.Cause, "Reading the live fleet for runtime adjustment failed; retrying");
            _assessing = false;
            _pendingTriggers.Insert(0, failed.Trigger);
            _requesters.AddRange(failed.Requesters);
            Timers.StartSingleTimer(nameof(AssessNow), new AssessNow(), TimeSpan.FromSeconds(2));
        });
        Command<Told>(told =>
        {
            _assessing = false;
            _assessments++;
            _adjustments += told.Adjusted;
            _degradations += told.Degraded;
            _lastTrigger = told.Trigger;
            foreach (var requester in told.Requesters) requester.Tell(new ReschedulerProtocol.ReviewDone(told.Trigger, told.Adjusted, told.Degraded));
            if (told.Offset > _offset)
            {
                _offset = told.Offset;
                SaveSnapshot(new ProjectionCheckpoint(_offset));
            }
            if (_pendingTriggers.Count > 0) Self.Tell(new AssessNow());
        });
        Command<ReschedulerProtocol.GetReschedulerStatus>(_ =>
            Sender.Tell(new ReschedulerProtocol.ReschedulerStatus(_offset, _assessments, _adjustments, _degradations, _lastTrigger)));
        Command<SaveSnapshotSuccess>(success => DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1, success.Metadata.Timestamp.AddTicks(-1))));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Saving the rescheduler's offset failed"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId => Id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props<TReadJournal>(TReadJournal readJournal, ReschedulerRefs refs, ReschedulerSettings settings, TimeProvider clock)
        where TReadJournal : IEventsByTagQuery, ICurrentPersistenceIdsQuery =>
        Akka.Actor.Props.Create(() => new ReschedulerActor(readJournal, readJournal, refs, settings, clock));

    protected override void OnReplaySuccess()
    {
        Run(_offset);
        Timers.StartPeriodicTimer("check", new ReschedulerProtocol.ReviewNow("periodic check"), _settings.Check);
    }

    private void Run(long offset) =>
        _readJournal.EventsByTag(EventTags.Drift, offset == 0 ? Offset.NoOffset() : Offset.Sequence(offset))
            .RunWith(Sink.ActorRefWithAck<EventEnvelope>(Self, new StreamInit(), new StreamAck(), new StreamDone(null), e => new StreamDone(e)),
                _materializer);

    /// <summary>A trigger as the app's history shows it, e.g. "link-drifted edge-a|edge-b latency_ms up".</summary>
    public static string Describe(object @event) => @event switch
    {
        NodeEvents.NodeDrifted d => $"node-drifted {d.NodeId} {d.Metric} {d.Direction.ToString().ToLowerInvariant()}",
        TopologyEvents.LinkDrifted d => $"link-drifted {LinkKeys.Of(d.Src, d.Dst)} {d.Metric} {d.Direction.ToString().ToLowerInvariant()}",
        _ => $"{ComputeNetSerializer.ManifestOf(@event)} {DriftEventLog.EntityOf(@event)}",
    };

    private void Assess()
    {
        if (_assessing || _pendingTriggers.Count == 0) return;
        _assessing = true;
        var triggers = _pendingTriggers.Distinct().ToList();
        var trigger = triggers.Count <= 3 ? string.Join(", ", triggers) : $"{string.Join(", ", triggers.Take(3))} and {triggers.Count - 3} more";
        _pendingTriggers.Clear();
        var offset = _seenOffset;
        IReadOnlyList<IActorRef> requesters = [.. _requesters];
        _requesters.Clear();
        Load(_refs, _settings, _persistenceIds, _materializer).PipeTo(Self,
            success: input => new Loaded(input, trigger, offset, requesters), failure: e => new LoadFailed(e, trigger, offset, requesters));
    }

    private void OnLoaded(Loaded loaded)
    {
        var now = _clock.GetUtcNow();
        var round = AdjustmentPlanner.Plan(loaded.Input, loaded.Trigger, _stability, _settings.Options, now);
        if (_log.IsDebugEnabled)
            _log.Debug("Review ({0}): {1} running app(s) on {2} node(s), links [{3}]; affected: [{4}]", loaded.Trigger, loaded.Input.Apps.Count,
                loaded.Input.Nodes.Count, string.Join(", ", loaded.Input.Links.Select(l => $"{LinkKeys.Of(l.Src, l.Dst)} {l.LatencyMs:0.#} ms")),
                string.Join("; ", round.Details.Select(d => $"{d.AppId} {d.Reason}: {d.Decision.Reason}, {d.Moves.Count} move(s)")));
        foreach (var adjustment in round.Adjustments)
            _log.Info("Re-placing {0} ({1}): {2}", adjustment.AppId, adjustment.Reason,
                string.Join(", ", adjustment.Moves.Select(m => $"{m.SubtaskId} {m.FromNodeId} → {m.ToNodeId}")));
        foreach (var degradation in round.Degradations)
            _log.Warning("{0} runs degraded: {1} of {2} cannot be met ({3})", degradation.AppId, degradation.Constraint, degradation.SubtaskId, degradation.Reason);
        if (round.RetryAt is { } retryAt)
        {
            // The apps held back keep what triggered them.
            _pendingTriggers.Add(loaded.Trigger.EndsWith(HeldSuffix, StringComparison.Ordinal) ? loaded.Trigger : loaded.Trigger + HeldSuffix);
            Timers.StartSingleTimer(nameof(AssessNow), new AssessNow(), retryAt - now > TimeSpan.Zero ? retryAt - now : TimeSpan.Zero);
        }

        var region = _refs.AppRegion;
        var timeout = _settings.Timeout;
        var log = _log;
        IEnumerable<object> commands = [.. round.Adjustments, .. round.Degradations, .. round.Recoveries];
        Task.WhenAll(commands.Select(async command =>
            {
                try
                {
                    var answer = await region.Ask<AdjustmentAnswer>(command, timeout);
                    if (answer.Outcome.StartsWith("refused", StringComparison.Ordinal)) log.Info("{0}: {1}", answer.AppId, answer.Outcome);
                }
                catch (Exception e)
                {
                    log.Warning(e, "An app did not answer {0}", command.GetType().Name);
                }
            }))
            .PipeTo(Self, success: () => new Told(loaded.Offset, loaded.Trigger, round.Adjustments.Count, round.Degradations.Count, loaded.Requesters));
    }

    /// <summary>The live fleet: registered nodes with their ledgers, links that are up, running apps, and the forecasts that concern them.</summary>
    private static async Task<AdjustmentInput> Load(ReschedulerRefs refs, ReschedulerSettings settings, ICurrentPersistenceIdsQuery persistenceIds,
        IMaterializer materializer)
    {
        var timeout = settings.Timeout;
        var list = await refs.NodeDirectory.Ask<NodeDirectoryProtocol.NodeList>(new NodeDirectoryProtocol.ListNodes(), timeout);
        var views = await Task.WhenAll(list.Nodes.Select(n => refs.NodeRegion.Ask<object>(new ReservationCommands.GetNodeCapacity(n.Spec.NodeId), timeout)));
        var nodes = new List<LiveNode>(list.Nodes.Count);
        for (var i = 0; i < list.Nodes.Count; i++)
            if (views[i] is ReservationReplies.NodeCapacityView view)
                nodes.Add(new LiveNode(list.Nodes[i].Spec, view.Schedulable, view.Available));

        var topology = await refs.Topology.Ask<TopologyReplies.TopologyView>(new TopologyQueries.GetTopology(), timeout);
        var links = topology.Links
            .Where(l => l is { Up: true, Latest: not null })
            .Select(l => new FleetLink(l.Src, l.Dst, l.Latest!.CapacityMbps, l.Latest.AvailableMbps, l.Latest.LatencyMs))
            .ToList();

        // The directory follows the journal's tag and lags it (by seconds under load): an app submitted and started just before
        // a drift may be missing from it, and would then be missed until the next periodic check. The journal's own list of
        // entities is current, so every app in it is asked unless the directory knows it finished; each app's own answer
        // (always current) decides whether it is running.
        var apps = await refs.AppDirectory.Ask<AppDirectoryProtocol.AppList>(new AppDirectoryProtocol.ListApps(), timeout);
        var finished = apps.Apps.Where(a => a.Lifecycle is AppLifecycle.Rejected or AppLifecycle.Stopped).Select(a => a.AppId).ToHashSet(StringComparer.Ordinal);
        var journaled = await persistenceIds.CurrentPersistenceIds()
            .Where(id => PersistenceIds.AppIdOf(id) is { } appId && !finished.Contains(appId))
            .RunWith(Sink.Seq<string>(), materializer);
        var adjustmentViews = await Task.WhenAll(journaled.Select(id => refs.AppRegion.Ask<object>(new GetAdjustmentView(PersistenceIds.AppIdOf(id)!), timeout)));
        var running = adjustmentViews.OfType<AdjustmentView>().Where(v => v.Lifecycle == AppLifecycle.Running && v.Decision is not null)
            .Select(ToRunning).OfType<RunningAppView>().ToList();

        if (!settings.UseForecasts || running.Count == 0) return new AdjustmentInput(nodes, links, running, [], []);
        var hosting = running.SelectMany(a => a.Decision.NodeIds).Distinct(StringComparer.Ordinal).ToList();
        var nodeForecasts = await Task.WhenAll(hosting.Select(id => refs.NodeRegion.Ask<object>(new NodeQueries.GetNodeForecast(id), timeout)));
        var linkForecasts = await Task.WhenAll(links.Select(l => refs.Topology.Ask<object>(new TopologyQueries.GetLinkForecast(l.Src, l.Dst), timeout)));
        return new AdjustmentInput(nodes, links, running,
            [.. nodeForecasts.OfType<NodeReplies.NodeForecastView>().Where(f => f.IntervalsObserved > 0).Select(f => new NodeOutlook(f.NodeId,
                Lowest(f.Metrics, NodeMetrics.CpuAvailableCores), Lowest(f.Metrics, NodeMetrics.MemoryAvailableGb)))],
            [.. linkForecasts.OfType<TopologyReplies.LinkForecastView>().Where(f => f.IntervalsObserved > 0)
                .Select(f => (f.Src, f.Dst, Latency: Highest(f.Metrics, LinkMetrics.LatencyMs)))
                .Where(f => f.Latency is not null)
                .Select(f => new LinkOutlook(f.Src, f.Dst, f.Latency!.Value))]);
    }

    private static RunningAppView? ToRunning(AdjustmentView view)
    {
        // The stored spec is the validated, canonical form and the decomposition was written by the app itself.
        var spec = AppSpecJson.Parse(view.SpecJson);
        var decomposition = view.DecompositionJson is null ? null
            : JsonSerializer.Deserialize<MultiGranularityDecomposition>(view.DecompositionJson, ComputeNetSerializer.JsonOptions);
        return decomposition is null ? null : new RunningAppView(view.AppId, spec, decomposition, view.Decision!, view.Degradation is not null);
    }

    private static double? Lowest(IEnumerable<Forecasting.MetricForecast> metrics, string metric) =>
        metrics.FirstOrDefault(m => m.Metric == metric) is { Horizons.Count: > 0 } m ? m.Horizons.Min(h => h.Point) : null;

    private static double? Highest(IEnumerable<Forecasting.MetricForecast> metrics, string metric) =>
        metrics.FirstOrDefault(m => m.Metric == metric) is { Horizons.Count: > 0 } m ? m.Horizons.Max(h => h.Point) : null;
}
