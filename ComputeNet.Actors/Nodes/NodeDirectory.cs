using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Nodes.NodeEvents;

namespace ComputeNet.Actors.Nodes;

public static class NodeDirectoryProtocol
{
    public sealed record ListNodes(bool IncludeDeregistered = false);

    public sealed record NodeEntry(NodeSpec Spec, string AgentId, NodeLifecycle Lifecycle, DateTimeOffset RegisteredAt, DateTimeOffset UpdatedAt);

    public sealed record NodeList(IReadOnlyList<NodeEntry> Nodes, long EventsSeen);
}

/// <summary>
/// A read model of every node, projected from the journal's "node" tag (live, so a node registered
/// anywhere in the cluster appears within the query's refresh interval). Rebuilt from the journal on
/// start; the NodeActors stay the authority for a single node.
/// </summary>
public sealed class NodeDirectory : ReceiveActor, IWithTimers
{
    private sealed record StreamInit;
    private sealed record StreamAck;
    private sealed record StreamDone(Exception? Cause);

    private readonly IEventsByTagQuery _readJournal;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, NodeDirectoryProtocol.NodeEntry> _nodes = new(StringComparer.Ordinal);
    public ITimerScheduler Timers { get; set; } = null!;

    private Offset _offset = Offset.NoOffset();
    private long _eventsSeen;

    public NodeDirectory(IEventsByTagQuery readJournal)
    {
        _readJournal = readJournal;

        Receive<StreamInit>(_ => Sender.Tell(new StreamAck()));
        Receive<EventEnvelope>(envelope =>
        {
            if (envelope.Event is INodeEvent e) Apply(e);
            _offset = envelope.Offset;
            _eventsSeen++;
            Sender.Tell(new StreamAck());
        });
        Receive<StreamDone>(done =>
        {
            // The live query ends only on failure: resume from the last offset after a pause.
            _log.Warning(done.Cause, "Node directory projection stopped; resuming from offset {0}", _offset);
            Timers.StartSingleTimer("resume", new Resume(), TimeSpan.FromSeconds(1));
        });
        Receive<Resume>(_ => Run());
        Receive<NodeDirectoryProtocol.ListNodes>(query => Sender.Tell(new NodeDirectoryProtocol.NodeList(
            _nodes.Values
                .Where(n => query.IncludeDeregistered || n.Lifecycle == NodeLifecycle.Registered)
                .OrderBy(n => n.Spec.NodeId, StringComparer.Ordinal)
                .ToList(),
            _eventsSeen)));
    }

    private sealed record Resume;

    public static Props Props(IEventsByTagQuery readJournal) => Akka.Actor.Props.Create(() => new NodeDirectory(readJournal));

    protected override void PreStart() => Run();

    private void Run() =>
        _readJournal.EventsByTag(EventTags.Node, _offset)
            .RunWith(Sink.ActorRefWithAck<EventEnvelope>(Self, new StreamInit(), new StreamAck(), new StreamDone(null), ex => new StreamDone(ex)),
                Context.Materializer());

    private void Apply(INodeEvent e)
    {
        switch (e)
        {
            case NodeRegistered r:
                _nodes[r.NodeId] = new NodeDirectoryProtocol.NodeEntry(r.Spec, r.Agent.AgentId, NodeLifecycle.Registered, r.At, r.At);
                break;
            case NodeUpdated u when _nodes.TryGetValue(u.NodeId, out var existing):
                _nodes[u.NodeId] = existing with { Spec = u.Spec, UpdatedAt = u.At };
                break;
            case NodeDeregistered d when _nodes.TryGetValue(d.NodeId, out var existing):
                _nodes[d.NodeId] = existing with { Lifecycle = NodeLifecycle.Deregistered, UpdatedAt = d.At };
                break;
        }
    }
}
