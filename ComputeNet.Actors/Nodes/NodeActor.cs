using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
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
    private bool _telemetryDirty;
    private bool _snapshotInFlight;
    private long _snapshotHighestSeq = -1;

    public NodeActor(string nodeId, NodeActorSettings settings, TimeProvider clock)
    {
        PersistenceId = PersistenceIds.Node(nodeId);
        _settings = settings;
        _clock = clock;
        _state = NodeState.Empty(nodeId);

        Recover<INodeEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is NodeState snapshot) _state = snapshot;
        });

        Command<RegisterNode>(Handle);
        Command<DeregisterNode>(Handle);
        Command<RecordNodeTelemetry>(Handle);
        Command<CheckpointTelemetry>(Handle);
        Command<AuthenticateAgent>(Handle);
        Command<SilenceTimeout>(_ => OnSilence());
        Command<GetNode>(_ => Sender.Tell(View()));
        Command<GetNodeTelemetry>(_ => Sender.Tell(TelemetryView()));
        Command<SaveSnapshotSuccess>(success =>
        {
            _snapshotInFlight = false;
            // Waiters that arrived after this snapshot started need the next one.
            foreach (var (replyTo, highestSeq) in _checkpointWaiters.Where(w => w.HighestSeq <= _snapshotHighestSeq))
                replyTo.Tell(new TelemetryCheckpointed(_state.NodeId, highestSeq));
            _checkpointWaiters.RemoveAll(w => w.HighestSeq <= _snapshotHighestSeq);
            if (_checkpointWaiters.Count > 0) SaveSnapshotNow();
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            _snapshotInFlight = false;
            _telemetryDirty = true;
            _log.Warning(failure.Cause, "Snapshot of {0} failed", PersistenceId);
            foreach (var (replyTo, _) in _checkpointWaiters) replyTo.Tell(new Status.Failure(failure.Cause));
            _checkpointWaiters.Clear();
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
        RegisterReservationHandlers();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void OnReplaySuccess()
    {
        // A node that was up when the host stopped gets the silence timeout to report again.
        if (_state is { IsRegistered: true, Health: NodeHealth.Up }) Timers.StartSingleTimer(SilenceTimer, new SilenceTimeout(), _settings.SilenceTimeout);
        ScheduleReservationExpiries();
    }

    public static Props Props(string nodeId, NodeActorSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new NodeActor(nodeId, settings, clock));

    private void Handle(RegisterNode command)
    {
        var now = _clock.GetUtcNow();
        if (!_state.IsRegistered)
        {
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
        _telemetryDirty = true;
        Timers.StartSingleTimer(SilenceTimer, new SilenceTimeout(), _settings.SilenceTimeout);

        // Only health transitions are events; the samples themselves live in memory and snapshots.
        var reportsUp = result.State.Latest!.Up;
        INodeEvent? transition = (reportsUp, _state.Health) switch
        {
            (true, not NodeHealth.Up) => new NodeCameUp(command.NodeId, _clock.GetUtcNow()),
            (false, not NodeHealth.Down) => new NodeWentDown(command.NodeId, "the agent reported up: false", _clock.GetUtcNow()),
            _ => null,
        };
        if (transition is null) Sender.Tell(reply);
        else PersistAndReply(transition, () => reply);
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
        if (!_telemetryDirty && !_snapshotInFlight)
        {
            Sender.Tell(new TelemetryCheckpointed(command.NodeId, _state.Telemetry.HighestSeq));
            return;
        }
        _checkpointWaiters.Add((Sender, _state.Telemetry.HighestSeq));
        if (!_snapshotInFlight) SaveSnapshotNow();
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
        Persist(new NodeWentDown(_state.NodeId, $"no telemetry for {_settings.SilenceTimeout.TotalSeconds:0.#} s", _clock.GetUtcNow()), persisted =>
        {
            _state = _state.Apply(persisted);
            if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshotNow();
        });
    }

    private void SaveSnapshotNow()
    {
        _telemetryDirty = false;
        _snapshotHighestSeq = _state.Telemetry.HighestSeq;
        _snapshotInFlight = true;
        SaveSnapshot(_state);
    }

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
