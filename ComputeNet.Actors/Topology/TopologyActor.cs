using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Topology.TopologyCommands;
using static ComputeNet.Actors.Topology.TopologyEvents;
using static ComputeNet.Actors.Topology.TopologyQueries;
using static ComputeNet.Actors.Topology.TopologyReplies;

namespace ComputeNet.Actors.Topology;

public sealed record TopologyActorSettings
{
    /// <summary>A link nobody reports for this long is marked down.</summary>
    public TimeSpan SilenceTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Samples kept per link.</summary>
    public int HistoryLimit { get; init; } = 30;

    /// <summary>Forecasting interval, horizons and drift thresholds of every link's available bandwidth and latency.</summary>
    public LiveForecastSettings Forecast { get; init; } = new();
}

/// <summary>
/// The network graph (links between nodes with their current bandwidth, latency and loss) and the
/// shortest-latency paths over it. Link samples live in memory and in snapshots; only up/down
/// transitions are persisted events. One per cluster: the host runs it as a cluster singleton.
/// </summary>
public sealed class TopologyActor : ReceivePersistentActor, IWithTimers
{
    public const string Id = "topology";

    private sealed record Sweep;

    private readonly TopologyActorSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, LinkState> _links = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _checkpointWaiters = [];
    private List<IActorRef> _nextCheckpointWaiters = [];
    private bool _dirty;
    private bool _snapshotInFlight;

    public TopologyActor(TopologyActorSettings settings, TimeProvider clock)
    {
        _settings = settings;
        _clock = clock;

        Recover<ITopologyEvent>(Apply);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not TopologySnapshot snapshot) return;
            _links.Clear();
            foreach (var link in snapshot.Links) _links[link.Key] = link;
            _forecasters.Clear();
            _restoredForecasts.Clear();
            foreach (var forecast in snapshot.Forecasts) _restoredForecasts[forecast.Key] = forecast.State;
        });

        Command<RecordLinkTelemetry>(Handle);
        Command<CheckpointTopology>(_ => Checkpoint());
        Command<Sweep>(_ => SweepSilentLinks());
        Command<GetTopology>(_ => Sender.Tell(new TopologyView(_links.Values.OrderBy(l => l.Key, StringComparer.Ordinal).Select(View).ToList())));
        Command<GetLinkForecast>(query => Sender.Tell(ForecastView(query.Src, query.Dst)));
        Command<GetPath>(query => Sender.Tell(new PathView(query.From, query.To, NetworkGraph.ShortestLatencyPath(Edges(), query.From, query.To))));
        Command<SaveSnapshotSuccess>(success =>
        {
            _snapshotInFlight = false;
            foreach (var waiter in _checkpointWaiters) waiter.Tell(new TopologyCheckpointed());
            _checkpointWaiters.Clear();
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1, success.Metadata.Timestamp.AddTicks(-1)));
            if (_nextCheckpointWaiters.Count > 0) StartSnapshot();
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            _snapshotInFlight = false;
            _dirty = true;
            _log.Warning(failure.Cause, "Topology snapshot failed");
            foreach (var waiter in _checkpointWaiters.Concat(_nextCheckpointWaiters)) waiter.Tell(new Status.Failure(failure.Cause));
            _checkpointWaiters.Clear();
            _nextCheckpointWaiters.Clear();
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old topology snapshots failed"));
    }

    public override string PersistenceId => Id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TopologyActorSettings settings, TimeProvider clock) => Akka.Actor.Props.Create(() => new TopologyActor(settings, clock));

    protected override void PreStart()
    {
        base.PreStart();
        Timers.StartPeriodicTimer("sweep", new Sweep(), _settings.SweepInterval);
    }

    private void Apply(ITopologyEvent @event)
    {
        var key = LinkKeys.Of(@event.Src, @event.Dst);
        _links[key] = _links.GetValueOrDefault(key, LinkState.New(@event.Src, @event.Dst)).Apply(@event);
    }

    private void Handle(RecordLinkTelemetry command)
    {
        var key = LinkKeys.Of(command.Src, command.Dst);
        var link = _links.GetValueOrDefault(key) ?? LinkState.New(command.Src, command.Dst);
        var now = _clock.GetUtcNow();
        var result = LinkTelemetryFold.Apply(link, command.Reporter, command.Samples, now, _settings.HistoryLimit);
        var highest = result.State.HighestSeqByReporter.GetValueOrDefault(command.Reporter, -1);
        var reply = new LinkTelemetryRecorded(command.Src, command.Dst, result.Applied, result.Duplicates, highest);
        if (result.Applied == 0)
        {
            Sender.Tell(reply);
            return;
        }
        _links[key] = result.State;
        _dirty = true;

        var reportsUp = result.State.Latest!.Up;
        ITopologyEvent? transition = (reportsUp, result.State.Up, result.State.StateChangedAt) switch
        {
            (true, false, _) => new LinkCameUp(command.Src, command.Dst, now),
            (false, true, _) or (false, false, null) => new LinkWentDown(command.Src, command.Dst, $"{command.Reporter} reported up: false", now),
            _ => null,
        };
        var drifts = ObserveForecast(result.State, result.AppliedSamples);
        if (transition is null && drifts is null)
        {
            Sender.Tell(reply);
            return;
        }
        List<ITopologyEvent> events = transition is null ? [] : [transition];
        if (drifts is not null) events.AddRange(drifts);
        var sender = Sender;
        var remaining = events.Count;
        PersistAll(events, persisted =>
        {
            Apply(persisted);
            if (--remaining == 0) sender.Tell(reply);
        });
    }

    // ── Forecasting and drift (算力预测 of the network) ───────────────────────────────────────────
    private readonly Dictionary<string, LiveForecaster> _forecasters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LiveForecastState> _restoredForecasts = new(StringComparer.Ordinal);

    /// <summary>A link's live forecaster: rebuilt from the snapshot on first use, afresh when the reported capacity changes.</summary>
    private LiveForecaster Forecaster(string key, double capacityMbps)
    {
        if (_forecasters.TryGetValue(key, out var forecaster) && forecaster.Metrics[0].Maximum.Equals(capacityMbps)) return forecaster;
        var previous = forecaster?.ToState() ?? _restoredForecasts.GetValueOrDefault(key) ?? LiveForecastState.Empty;
        _restoredForecasts.Remove(key);
        return _forecasters[key] = LiveForecaster.Restore(previous, LinkMetrics.Of(capacityMbps), _settings.Forecast);
    }

    private List<ITopologyEvent>? ObserveForecast(LinkState link, IReadOnlyList<LinkSample> samples)
    {
        Span<double> values = stackalloc double[2];
        List<ITopologyEvent>? events = null;
        foreach (var sample in samples)
        {
            if (!sample.Up) continue; // a link reported down has nothing to forecast; its health event says so
            values[0] = sample.AvailableMbps;
            values[1] = sample.LatencyMs;
            if (Forecaster(link.Key, sample.CapacityMbps).Observe(sample.TimestampMs, values) is not { } drifts) continue;
            foreach (var drift in drifts)
            {
                if (link.Drifts.AlreadyRecorded(drift.Metric, drift.ConfirmedAt)) continue; // replayed telemetry re-confirms a persisted drift
                var d = drift.Detection;
                (events ??= []).Add(new LinkDrifted(link.Src, link.Dst, drift.Metric, d.Direction, d.LevelBefore, d.LevelAfter,
                    drift.FirstSeenAt, drift.ConfirmedAt, d.Statistic, _clock.GetUtcNow()));
            }
        }
        return events;
    }

    private object ForecastView(string src, string dst)
    {
        if (!_links.TryGetValue(LinkKeys.Of(src, dst), out var link) || link.Latest is null) return new LinkNotFound(src, dst);
        var forecaster = Forecaster(link.Key, _forecasters.TryGetValue(link.Key, out var live) ? live.Metrics[0].Maximum : link.Latest.CapacityMbps);
        return new LinkForecastView(src, dst, _settings.Forecast.IntervalMs, forecaster.IntervalsClosed, forecaster.Forecast());
    }

    private IReadOnlyList<LinkForecastState> ForecastStates() =>
        _forecasters.Select(f => new LinkForecastState(f.Key, f.Value.ToState()))
            .Concat(_restoredForecasts.Select(f => new LinkForecastState(f.Key, f.Value)))
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .ToList();
    // ─────────────────────────────────────────────────────────────────────────────────────────────

    private void SweepSilentLinks()
    {
        var now = _clock.GetUtcNow();
        var silent = _links.Values.Where(l => l.Up && now - l.LastHeardAt > _settings.SilenceTimeout).ToList();
        if (silent.Count == 0) return;
        var reason = $"no telemetry for {_settings.SilenceTimeout.TotalSeconds:0.#} s";
        PersistAll(silent.Select(l => new LinkWentDown(l.Src, l.Dst, reason, now)), persisted => Apply(persisted));
    }

    private void Checkpoint()
    {
        if (!_dirty && !_snapshotInFlight)
        {
            Sender.Tell(new TopologyCheckpointed());
            return;
        }
        if (_snapshotInFlight)
        {
            // The snapshot being written may predate this checkpoint's state: wait for the next one.
            _nextCheckpointWaiters.Add(Sender);
            return;
        }
        _nextCheckpointWaiters.Add(Sender);
        StartSnapshot();
    }

    private void StartSnapshot()
    {
        _checkpointWaiters.AddRange(_nextCheckpointWaiters);
        _nextCheckpointWaiters = [];
        _dirty = false;
        _snapshotInFlight = true;
        SaveSnapshot(new TopologySnapshot(_links.Values.ToList()) { Forecasts = ForecastStates() });
    }

    private IEnumerable<LinkEdge> Edges() =>
        _links.Values
            .Where(l => l.Latest is not null)
            .Select(l => new LinkEdge(l.Src, l.Dst, l.Latest!.LatencyMs, l.Latest.AvailableMbps, l.Latest.LossRate, l.Up));

    private static LinkView View(LinkState l) =>
        new(l.Src, l.Dst, l.Up, l.DownReason, l.StateChangedAt, l.Latest, l.AppliedSamples, l.LastHeardAt);
}
