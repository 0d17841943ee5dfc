using Akka.Actor;
using Akka.Persistence.Query;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Nodes.NodeEvents;

namespace ComputeNet.Actors.Nodes;

public static class NodeDirectoryProtocol
{
    public sealed record ListNodes(bool IncludeDeregistered = false);

    public sealed record NodeEntry(NodeSpec Spec, string AgentId, NodeLifecycle Lifecycle, DateTimeOffset RegisteredAt, DateTimeOffset UpdatedAt)
    {
        public NodeHealth Health { get; init; }
    }

    /// <summary>How many registered nodes are up, down, or not yet heard from.</summary>
    public sealed record GetHealthCounts;

    public sealed record HealthCounts(int Up, int Down, int Unknown);

    public sealed record NodeList(IReadOnlyList<NodeEntry> Nodes, long EventsSeen);
}

/// <summary>
/// Every node, projected from the journal's "node" tag, so a node registered anywhere in the cluster
/// is listed within the query's refresh interval. The NodeActors stay the authority for a single node.
/// </summary>
public sealed class NodeDirectory : TagProjection
{
    private readonly Dictionary<string, NodeDirectoryProtocol.NodeEntry> _nodes = new(StringComparer.Ordinal);

    public NodeDirectory(IEventsByTagQuery readJournal) : base(readJournal, EventTags.Node)
    {
        Receive<NodeDirectoryProtocol.ListNodes>(query => Sender.Tell(new NodeDirectoryProtocol.NodeList(
            _nodes.Values
                .Where(n => query.IncludeDeregistered || n.Lifecycle == NodeLifecycle.Registered)
                .OrderBy(n => n.Spec.NodeId, StringComparer.Ordinal)
                .ToList(),
            EventsSeen)));
        Receive<NodeDirectoryProtocol.GetHealthCounts>(_ =>
        {
            var registered = _nodes.Values.Where(n => n.Lifecycle == NodeLifecycle.Registered).ToList();
            Sender.Tell(new NodeDirectoryProtocol.HealthCounts(
                registered.Count(n => n.Health == NodeHealth.Up),
                registered.Count(n => n.Health == NodeHealth.Down),
                registered.Count(n => n.Health == NodeHealth.Unknown)));
        });
    }

    public static Props Props(IEventsByTagQuery readJournal) => Akka.Actor.Props.Create(() => new NodeDirectory(readJournal));

    protected override void Apply(object @event)
    {
        switch (@event)
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
            case NodeWentDown down when _nodes.TryGetValue(down.NodeId, out var existing):
                _nodes[down.NodeId] = existing with { Health = NodeHealth.Down };
                break;
            case NodeCameUp up when _nodes.TryGetValue(up.NodeId, out var existing):
                _nodes[up.NodeId] = existing with { Health = NodeHealth.Up };
                break;
        }
    }
}
