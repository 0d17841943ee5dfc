using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Nodes.NodeCommands;
using static ComputeNet.Actors.Nodes.NodeEvents;
using static ComputeNet.Actors.Nodes.NodeQueries;
using static ComputeNet.Actors.Nodes.NodeReplies;

namespace ComputeNet.Actors.Nodes;

public sealed record NodeActorSettings(int AgentReportingIntervalMs = 5000, int SnapshotEvery = 100)
{
    /// <summary>A node that reports nothing for this long is marked down (persisted <see cref="NodeWentDown"/>).</summary>
    public TimeSpan SilenceTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How far usage may exceed the registered capacity (sampling noise) before a sample is rejected.</summary>
    public double CapacityTolerance { get; init; } = 0.1;

    /// <summary>Window aggregates kept per node (memory and snapshot size are bounded by it).</summary>
    public int TelemetryHistoryWindows { get; init; } = 60;

    /// <summary>Telemetry checkpoints between snapshots of the telemetry journal (which then drops the events behind them).</summary>
    public int TelemetrySnapshotEvery { get; init; } = 50;

    /// <summary>Forecasting interval, horizons and drift thresholds of the node's available CPU, memory and GPU.</summary>
    public LiveForecastSettings Forecast { get; init; } = new();
}

/// <summary>
/// One compute node's event-sourced aggregate, sharded by node id. Validates commands against its
/// state, persists the resulting events, then applies them with the same <see cref="NodeState.Apply"/>
/// that recovery uses.
/// </summary>
public sealed partial class NodeActor : ReceivePersistentActor, IWithTimers
{
    private sealed record SilenceTimeout;

    private const string SilenceTimer = "silence";
    private readonly NodeActorSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NodeState _state;
    private readonly List<(IActorRef ReplyTo, long HighestSeq)> _checkpointWaiters = [];
    private IActorRef _telemetryJournal = ActorRefs.Nobody;
    private int _windowsSinceCheckpoint;
    private bool _checkpointInFlight;
    private int _transitionsInFlight;   // health and drift events applied but not yet durable
    private bool _snapshotDue;
    private bool _resetTelemetry;
    private long _lastReportTimestamp;

    public NodeActor(string nodeId, NodeActorSettings settings, TimeProvider clock)
    {
        PersistenceId = PersistenceIds.Node(nodeId);
        _settings = settings;
        _clock = clock;
        _state = NodeState.Empty(nodeId);
        _lastReportTimestamp = clock.GetTimestamp();

        Recover<INodeEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is NodeState snapshot) _state = snapshot;
        });

        Running();
    }

    private void Running()
    {
        Command<RegisterNode>(Handle);
        Command<DeregisterNode>(Handle);
        Command<RecordNodeTelemetry>(Handle);
        Command<CheckpointTelemetry>(Handle);
        Command<AuthenticateAgent>(Handle);
        Command<WakeUp>(_ => { });
        Command<SilenceTimeout>(_ => OnSilence());
        Command<GetNode>(_ => Sender.Tell(View()));
        Command<GetNodeTelemetry>(_ => Sender.Tell(TelemetryView()));
        Command<GetNodeForecast>(_ => Sender.Tell(ForecastView()));
        Command<NodeTelemetryJournal.Saved>(OnTelemetrySaved);
        Command<Terminated>(terminated => throw new InvalidOperationException(
            $"the telemetry journal of node {_state.NodeId} stopped ({terminated.ActorRef.Path.Name}); restarting from durable state"));
        Command<SaveSnapshotSuccess>(success => DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Snapshot of {0} failed", PersistenceId));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
        RegisterReservationHandlers();
    }

    /// <summary>After recovery, until the telemetry journal has restored the durable telemetry: everything waits.</summary>
    private void RestoringTelemetry()
    {
        Command<NodeTelemetryJournal.Restored>(restored =>
        {
            _state = _state with { Telemetry = restored.State.Telemetry, Forecast = restored.State.Forecast };
            _forecaster = null;
            Become(Running);
            Stash.UnstashAll();
            // A node that was up when the host stopped gets the silence timeout to report again.
            if (_state is { IsRegistered: true, Health: NodeHealth.Up })
            {
                _lastReportTimestamp = _clock.GetTimestamp();
                Timers.StartSingleTimer(SilenceTimer, new SilenceTimeout(), _settings.SilenceTimeout);
            }
            ScheduleReservationExpiries();
        });
        Command<Terminated>(terminated => throw new InvalidOperationException(
            $"the telemetry journal of node {_state.NodeId} stopped while restoring ({terminated.ActorRef.Path.Name})"));
        CommandAny(_ => Stash.Stash());
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The telemetry journal recovers beside this actor; <see cref="OnReplaySuccess"/> waits for it.</summary>
    protected override void PreStart()
    {
        _telemetryJournal = Context.Watch(Context.ActorOf(NodeTelemetryJournal.Props(_state.NodeId, _settings.TelemetrySnapshotEvery), "telemetry"));
        base.PreStart();
    }

    protected override void OnReplaySuccess() => Become(RestoringTelemetry);

    public static Props Props(string nodeId, NodeActorSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new NodeActor(nodeId, settings, clock));

    private void Handle(RegisterNode command)
    {
        var now = _clock.GetUtcNow();
        if (!_state.IsRegistered)
        {
            // A new agent's seq starts afresh: the next checkpoint replaces the durable telemetry rather than extending it.
            _resetTelemetry |= _state.Telemetry.HighestSeq >= 0;
            _windowsSinceCheckpoint = 0;
            var agent = new AgentCredentials($"agent-{command.NodeId}", NewAgentToken(), _settings.AgentReportingIntervalMs);
            PersistAndReply(new NodeRegistered(command.Spec, agent, now),
                () => new RegistrationAccepted(command.NodeId, RegistrationOutcome.Registered, agent));
        }
        else if (command.Spec.Equals(_state.Spec))
        {
            // Re-registration with the same spec: same agent, no new event.
            Sender.Tell(new RegistrationAccepted(command.NodeId, RegistrationOutcome.Unchanged, _state.Agent!));
        }
        else
        {
            PersistAndReply(new NodeUpdated(command.Spec, now),
                () => new RegistrationAccepted(command.NodeId, RegistrationOutcome.Updated, _state.Agent!));
        }
    }

    private void Handle(DeregisterNode command)
    {
        Timers.Cancel(SilenceTimer);
        if (!_state.IsRegistered)
        {
            Sender.Tell(new DeregistrationAccepted(command.NodeId, WasRegistered: false));
            return;
        }

        PersistAndReply(new NodeDeregistered(command.NodeId, _clock.GetUtcNow()),
            () => new DeregistrationAccepted(command.NodeId, WasRegistered: true));
    }

    private void Handle(RecordNodeTelemetry command)
    {
        if (!_state.IsRegistered)
        {
            var reason = _state.Lifecycle == NodeLifecycle.Deregistered
                ? $"node '{command.NodeId}' is deregistered; its agent token is no longer accepted"
                : $"node '{command.NodeId}' is not registered";
            Sender.Tell(new NodeTelemetryRecorded(command.NodeId, 0, 0, _state.Telemetry.HighestSeq,
                command.Samples.Select((s, i) => new SampleRejection(i, s.Seq, reason)).ToList()));
            return;
        }

        var result = NodeTelemetryFold.Apply(_state.Telemetry, _state.Spec!, _state.Agent!.AgentToken, command.AgentToken, command.Samples,
            _settings.CapacityTolerance, _settings.TelemetryHistoryWindows);
        var reply = new NodeTelemetryRecorded(command.NodeId, result.Applied, result.Duplicates, result.State.HighestSeq, result.Rejections);
        if (result.Applied == 0)
        {
            Sender.Tell(reply);
            return;
        }

        _state = _state with { Telemetry = result.State };
        _windowsSinceCheckpoint++;
        // Restarting the timer for every window costs more than the window itself; the running timer checks the time instead.
        _lastReportTimestamp = _clock.GetTimestamp();
        if (!Timers.IsTimerActive(SilenceTimer)) Timers.StartSingleTimer(SilenceTimer, new SilenceTimeout(), _settings.SilenceTimeout);

        // Only health transitions are events; the samples themselves live in memory and snapshots.
        var reportsUp = result.State.Latest!.Up;
        INodeEvent? transition = (reportsUp, _state.Health) switch
        {
            (true, not NodeHealth.Up) => new NodeCameUp(command.NodeId, _clock.GetUtcNow()),
            (false, not NodeHealth.Down) => new NodeWentDown(command.NodeId, "the agent reported up: false", _clock.GetUtcNow()),
            _ => null,
        };
        var drifts = ObserveForecast(result.AppliedSamples);
        if (transition is null && drifts is null)
        {
            Sender.Tell(reply);
            return;
        }
        List<INodeEvent> events = transition is null ? [] : [transition];
        if (drifts is not null) events.AddRange(drifts);
        PersistTransitions(events);
        Sender.Tell(reply);
    }

    /// <summary>
    /// Health and drift events take effect at once and become durable in the background, so the telemetry reply does
    /// not wait for the journal (10,000 nodes coming up together queued 10,000 tagged writes in front of the first
    /// window, 1.5–2 s on SQLite). Offsets are released by the checkpoint, which waits until they are durable
    /// (<see cref="Handle(CheckpointTelemetry)"/>), so a crash before then replays the telemetry and raises them again.
    /// A failed write stops the actor, which recovers without them.
    /// </summary>
    private void PersistTransitions(IReadOnlyList<INodeEvent> events)
    {
        foreach (var @event in events) _state = _state.Apply(@event);
        _transitionsInFlight += events.Count;
        PersistAllAsync(events, _ =>
        {
            _transitionsInFlight--;
            _snapshotDue |= LastSequenceNr % _settings.SnapshotEvery == 0;
            if (_transitionsInFlight > 0) return;
            // A snapshot only while nothing is in flight: it must not hold an effect the journal may yet lose.
            if (_snapshotDue) SaveSnapshotNow();
            _snapshotDue = false;
            CheckpointWhenReady();
        });
    }

    private void Handle(CheckpointTelemetry command)
    {
        if (_state.Telemetry.HighestSeq < command.MinHighestSeq)
        {
            // The samples the stream saw applied are not in this incarnation's state: replay them.
            Sender.Tell(new Status.Failure(new InvalidOperationException(
                $"node {command.NodeId} holds telemetry up to seq {_state.Telemetry.HighestSeq}, expected at least {command.MinHighestSeq}")));
            return;
        }
        if (_windowsSinceCheckpoint == 0 && !_resetTelemetry && !_checkpointInFlight && _transitionsInFlight == 0)
        {
            Sender.Tell(new TelemetryCheckpointed(command.NodeId, _state.Telemetry.HighestSeq));
            return;
        }
        _checkpointWaiters.Add((Sender, _state.Telemetry.HighestSeq));
        CheckpointWhenReady();
    }

    /// <summary>
    /// One checkpoint at a time, and only once the health and drift events the applied telemetry raised are durable
    /// (see <see cref="PersistTransitions"/>): the checkpoint's reply releases the offsets.
    /// </summary>
    private void CheckpointWhenReady()
    {
        if (_checkpointWaiters.Count > 0 && !_checkpointInFlight && _transitionsInFlight == 0) CheckpointNow();
    }

    /// <summary>Hands what telemetry gained since the last checkpoint to the telemetry journal; <see cref="OnTelemetrySaved"/> answers the waiters.</summary>
    private void CheckpointNow()
    {
        _telemetryJournal.Tell(NodeTelemetryCheckpointed.Of(_state.NodeId, _state.Telemetry, _windowsSinceCheckpoint, _settings.TelemetryHistoryWindows,
            _resetTelemetry, ForecastCheckpointNow(_resetTelemetry)));
        _windowsSinceCheckpoint = 0;
        _resetTelemetry = false;
        _checkpointInFlight = true;
    }

    private void OnTelemetrySaved(NodeTelemetryJournal.Saved saved)
    {
        _checkpointInFlight = false;
        foreach (var (replyTo, highestSeq) in _checkpointWaiters.Where(w => w.HighestSeq <= saved.HighestSeq))
            replyTo.Tell(new TelemetryCheckpointed(_state.NodeId, highestSeq));
        // Waiters that arrived after this checkpoint was handed over need the next one.
        _checkpointWaiters.RemoveAll(w => w.HighestSeq <= saved.HighestSeq);
        CheckpointWhenReady();
    }

    private void Handle(AuthenticateAgent command)
    {
        var reply = _state switch
        {
            { IsRegistered: false } => new AgentAuthentication(command.NodeId, false, $"node '{command.NodeId}' is not registered"),
            _ when string.Equals(_state.Agent!.AgentToken, command.AgentToken, StringComparison.Ordinal) => new AgentAuthentication(command.NodeId, true, null),
            _ => new AgentAuthentication(command.NodeId, false, $"agentToken does not match the token provisioned for node '{command.NodeId}'"),
        };
        Sender.Tell(reply);
    }

    private void OnSilence()
    {
        if (!_state.IsRegistered || _state.Health != NodeHealth.Up) return;
        var quiet = _clock.GetElapsedTime(_lastReportTimestamp);
        if (quiet < _settings.SilenceTimeout)
        {
            Timers.StartSingleTimer(SilenceTimer, new SilenceTimeout(), _settings.SilenceTimeout - quiet);
            return;
        }
        Persist(new NodeWentDown(_state.NodeId, $"no telemetry for {_settings.SilenceTimeout.TotalSeconds:0.#} s", _clock.GetUtcNow()), persisted =>
        {
            _state = _state.Apply(persisted);
            if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshotNow();
        });
    }

    /// <summary>Lifecycle snapshots leave telemetry and forecasts out: their durable copy is the telemetry journal's.</summary>
    private void SaveSnapshotNow() => SaveSnapshot(_state with { Telemetry = NodeTelemetryState.Empty, Forecast = LiveForecastState.Empty });

    private void PersistAndReply(INodeEvent @event, Func<object> reply)
    {
        var sender = Sender;
        Persist(@event, persisted =>
        {
            _state = _state.Apply(persisted);
            sender.Tell(reply());
            if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshotNow();
        });
    }

    // ── Forecasting and drift (算力预测) ─────────────────────────────────────────────────────────
    private LiveForecaster? _forecaster;
    private NodeSpec? _forecastSpec;

    /// <summary>The node's live forecaster, rebuilt from the snapshot after recovery and afresh when the spec's capacities change.</summary>
    private LiveForecaster Forecaster()
    {
        if (_forecaster is not null && ReferenceEquals(_forecastSpec, _state.Spec)) return _forecaster;
        _forecastSpec = _state.Spec;
        return _forecaster = LiveForecaster.Restore(_forecaster?.ToState() ?? _state.Forecast, NodeMetrics.Of(_state.Spec!), _settings.Forecast);
    }

    /// <summary>Feeds the applied samples of an up node; returns the drift events to persist (usually none: null).</summary>
    private List<INodeEvent>? ObserveForecast(IReadOnlyList<NodeUsageSample> samples)
    {
        var forecaster = Forecaster();
        var spec = _state.Spec!;
        Span<double> available = stackalloc double[NodeMetrics.Count(spec)];
        List<INodeEvent>? events = null;
        foreach (var sample in samples)
        {
            if (!sample.Up) continue; // a node reporting down has no capacity to forecast; its health event says so
            NodeMetrics.Available(spec, sample, available);
            if (forecaster.Observe(sample.TimestampMs, available) is not { } drifts) continue;
            foreach (var drift in drifts)
            {
                if (_state.Drifts.AlreadyRecorded(drift.Metric, drift.ConfirmedAt)) continue; // replayed telemetry re-confirms a persisted drift
                var d = drift.Detection;
                (events ??= []).Add(new NodeDrifted(_state.NodeId, drift.Metric, d.Direction, d.LevelBefore, d.LevelAfter, drift.FirstSeenAt,
                    drift.ConfirmedAt, d.Statistic, _clock.GetUtcNow()));
            }
        }
        return events;
    }

    private LiveForecaster? _forecasterAtCheckpoint;
    private long _intervalsClosedAtCheckpoint;

    /// <summary>The forecaster's part of the next checkpoint: what it closed since the last one, or all of it when it was rebuilt since.</summary>
    private ForecastCheckpoint? ForecastCheckpointNow(bool resetTelemetry)
    {
        if (_forecaster is null) return null;
        var replace = !ReferenceEquals(_forecaster, _forecasterAtCheckpoint);
        var checkpoint = ForecastCheckpoint.Of(_forecaster.ToState(), _forecaster.IntervalsClosed - _intervalsClosedAtCheckpoint, _settings.Forecast.HistoryIntervals, replace,
            withMetrics: replace || resetTelemetry);
        _forecasterAtCheckpoint = _forecaster;
        _intervalsClosedAtCheckpoint = _forecaster.IntervalsClosed;
        return checkpoint;
    }

    private object ForecastView() => _state.Spec is null
        ? new NodeNotFound(_state.NodeId)
        : new NodeForecastView(_state.NodeId, _settings.Forecast.IntervalMs, Forecaster().IntervalsClosed, Forecaster().Forecast());
    // ─────────────────────────────────────────────────────────────────────────────────────────────

    private object View() => _state.Spec is null
        ? new NodeNotFound(_state.NodeId)
        : new NodeView(_state.NodeId, _state.Spec, _state.Agent!.AgentId, _state.Lifecycle, _state.RegisteredAt, _state.UpdatedAt, _state.Version)
        {
            Health = _state.Health,
            HealthChangedAt = _state.HealthChangedAt,
            Usage = _state.Telemetry.Latest,
        };

    private object TelemetryView() => _state.Spec is null
        ? new NodeNotFound(_state.NodeId)
        : new NodeTelemetryView(_state.NodeId, _state.Health, _state.HealthChangedAt, _state.Telemetry.HighestSeq,
            _state.Telemetry.AppliedSamples, _state.Telemetry.Latest, _state.Telemetry.History);

    private static string NewAgentToken() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
}
