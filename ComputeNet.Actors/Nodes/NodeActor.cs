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

public sealed record NodeActorSettings(int AgentReportingIntervalMs = 5000, int SnapshotEvery = 100);

/// <summary>
/// One compute node's event-sourced aggregate, sharded by node id. Validates commands against its
/// state, persists the resulting events, then applies them with the same <see cref="NodeState.Apply"/>
/// that recovery uses.
/// </summary>
public sealed class NodeActor : ReceivePersistentActor
{
    private readonly NodeActorSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NodeState _state;

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
        Command<GetNode>(_ => Sender.Tell(View()));
        Command<SaveSnapshotSuccess>(success =>
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Snapshot of {0} failed", PersistenceId));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
    }

    public override string PersistenceId { get; }

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
        if (!_state.IsRegistered)
        {
            Sender.Tell(new DeregistrationAccepted(command.NodeId, WasRegistered: false));
            return;
        }

        PersistAndReply(new NodeDeregistered(command.NodeId, _clock.GetUtcNow()),
            () => new DeregistrationAccepted(command.NodeId, WasRegistered: true));
    }

    private void PersistAndReply(INodeEvent @event, Func<object> reply)
    {
        var sender = Sender;
        Persist(@event, persisted =>
        {
            _state = _state.Apply(persisted);
            sender.Tell(reply());
            if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshot(_state);
        });
    }

    private object View() => _state.Spec is null
        ? new NodeNotFound(_state.NodeId)
        : new NodeView(_state.NodeId, _state.Spec, _state.Agent!.AgentId, _state.Lifecycle, _state.RegisteredAt, _state.UpdatedAt, _state.Version);

    private static string NewAgentToken() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
}
