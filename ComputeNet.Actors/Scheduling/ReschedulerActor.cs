using System.Text.Json;
using Akka.Actor;
using Akka.Event;
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
public sealed class ReschedulerActor : PersistentTagFollower
{
    public const string Id = "rescheduler";

    private const string HeldSuffix = " (held back by the stability policy until now)";

    private sealed record AssessNow;
    private sealed record Loaded(AdjustmentInput Input, string Trigger, long Offset, IReadOnlyList<IActorRef> Requesters);
    private sealed record LoadFailed(Exception Cause, string Trigger, long Offset, IReadOnlyList<IActorRef> Requesters);
    private sealed record Told(long Offset, string Trigger, int Adjusted, int Degraded, IReadOnlyList<IActorRef> Requesters);

    private readonly ICurrentPersistenceIdsQuery _persistenceIds;
    private readonly ReschedulerRefs _refs;
    private readonly ReschedulerSettings _settings;
    private readonly TimeProvider _clock;
    private readonly StabilityPolicy _stability;
    private readonly List<string> _pendingTriggers = [];
    private readonly List<IActorRef> _requesters = []; // asked for a review that has not started yet
    private long _seenOffset;
    private bool _assessing;
    private int _assessments;
    private int _adjustments;
    private int _degradations;
    private string? _lastTrigger;

    public ReschedulerActor(IEventsByTagQuery readJournal, ICurrentPersistenceIdsQuery persistenceIds, ReschedulerRefs refs, ReschedulerSettings settings,
        TimeProvider clock) : base(readJournal, EventTags.Drift)
    {
        _persistenceIds = persistenceIds;
        _refs = refs;
        _settings = settings;
        _clock = clock;
        _stability = new StabilityPolicy(settings.Options.Stability);

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
            Log.Warning(failed.Cause, "Reading the live fleet for runtime adjustment failed; retrying");
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
            SaveCheckpoint(told.Offset);
            if (_pendingTriggers.Count > 0) Self.Tell(new AssessNow());
        });
        Command<ReschedulerProtocol.GetReschedulerStatus>(_ =>
            Sender.Tell(new ReschedulerProtocol.ReschedulerStatus(Checkpoint, _assessments, _adjustments, _degradations, _lastTrigger)));
    }

    public override string PersistenceId => Id;

    public static Props Props<TReadJournal>(TReadJournal readJournal, ReschedulerRefs refs, ReschedulerSettings settings, TimeProvider clock)
        where TReadJournal : IEventsByTagQuery, ICurrentPersistenceIdsQuery =>
        Akka.Actor.Props.Create(() => new ReschedulerActor(readJournal, readJournal, refs, settings, clock));

    // Events already assessed but not yet saved are assessed again after a restart, never skipped; a resumed stream goes on from the last seen.
    protected override long ResumeOffset => Math.Max(_seenOffset, Checkpoint);

    protected override void OnReplaySuccess()
    {
        base.OnReplaySuccess();
        Timers.StartPeriodicTimer("check", new ReschedulerProtocol.ReviewNow("periodic check"), _settings.Check);
    }

    protected override void OnEvent(EventEnvelope envelope, IActorRef stream)
    {
        _pendingTriggers.Add(Describe(envelope.Event));
        if (envelope.Offset is Sequence sequence) _seenOffset = sequence.Value;
        Acknowledge(stream);
        Timers.StartSingleTimer(nameof(AssessNow), new AssessNow(), _settings.Wait);
    }

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
        var offset = ResumeOffset;
        IReadOnlyList<IActorRef> requesters = [.. _requesters];
        _requesters.Clear();
        Load(_refs, _settings, _persistenceIds, Materializer).PipeTo(Self,
            success: input => new Loaded(input, trigger, offset, requesters), failure: e => new LoadFailed(e, trigger, offset, requesters));
    }

    private void OnLoaded(Loaded loaded)
    {
        var now = _clock.GetUtcNow();
        var round = AdjustmentPlanner.Plan(loaded.Input, loaded.Trigger, _stability, _settings.Options, now);
        if (Log.IsDebugEnabled)
            Log.Debug("Review ({0}): {1} running app(s) on {2} node(s), links [{3}]; affected: [{4}]", loaded.Trigger, loaded.Input.Apps.Count,
                loaded.Input.Nodes.Count, string.Join(", ", loaded.Input.Links.Select(l => $"{LinkKeys.Of(l.Src, l.Dst)} {l.LatencyMs:0.#} ms")),
                string.Join("; ", round.Details.Select(d => $"{d.AppId} {d.Reason}: {d.Decision.Reason}, {d.Moves.Count} move(s)")));
        foreach (var adjustment in round.Adjustments)
            Log.Info("Re-placing {0} ({1}): {2}", adjustment.AppId, adjustment.Reason,
                string.Join(", ", adjustment.Moves.Select(m => $"{m.SubtaskId} {m.FromNodeId} → {m.ToNodeId}")));
        foreach (var degradation in round.Degradations)
            Log.Warning("{0} runs degraded: {1} of {2} cannot be met ({3})", degradation.AppId, degradation.Constraint, degradation.SubtaskId, degradation.Reason);
        if (round.RetryAt is { } retryAt)
        {
            // The apps held back keep what triggered them.
            _pendingTriggers.Add(loaded.Trigger.EndsWith(HeldSuffix, StringComparison.Ordinal) ? loaded.Trigger : loaded.Trigger + HeldSuffix);
            Timers.StartSingleTimer(nameof(AssessNow), new AssessNow(), retryAt - now > TimeSpan.Zero ? retryAt - now : TimeSpan.Zero);
        }

        var region = _refs.AppRegion;
        var timeout = _settings.Timeout;
        var log = Log;
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
                nodes.Add(new LiveNode(list.Nodes[i].Spec, view.Schedulable, view.Available, view.Committed + view.Reserved));

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
        var specs = list.Nodes.ToDictionary(n => n.Spec.NodeId, n => n.Spec, StringComparer.Ordinal);
        var hosting = running.SelectMany(a => a.Decision.NodeIds).Distinct(StringComparer.Ordinal).ToList();
        var nodeForecasts = await Task.WhenAll(hosting.Select(id => refs.NodeRegion.Ask<object>(new NodeQueries.GetNodeForecast(id), timeout)));
        var linkForecasts = await Task.WhenAll(links.Select(l => refs.Topology.Ask<object>(new TopologyQueries.GetLinkForecast(l.Src, l.Dst), timeout)));
        return new AdjustmentInput(nodes, links, running,
            [.. nodeForecasts.OfType<NodeReplies.NodeForecastView>().Where(f => f.IntervalsObserved > 0)
                .Select(f => (f.NodeId, Available: specs.TryGetValue(f.NodeId, out var spec) ? NodeMetrics.ForecastAvailable(spec, f.Metrics) : null))
                .Where(f => f.Available is not null)
                .Select(f => new NodeOutlook(f.NodeId, f.Available!.Value))],
            [.. linkForecasts.OfType<TopologyReplies.LinkForecastView>().Where(f => f.IntervalsObserved > 0)
                .Select(f => (f.Src, f.Dst, Latency: Forecasting.MetricForecast.Highest(f.Metrics, LinkMetrics.LatencyMs)))
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
}
