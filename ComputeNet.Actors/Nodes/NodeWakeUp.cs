using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Nodes.NodeEvents;

namespace ComputeNet.Actors.Nodes;

/// <summary>
/// Node actors start when a message reaches them. After a restart, a node that was up and never reports
/// again would never start, so never time out and be marked down; this wakes every node that was last
/// seen up, which restarts its silence timeout.
/// </summary>
public static class NodeWakeUp
{
    /// <summary>Registered nodes whose last health event (in journal order) says up.</summary>
    public static IReadOnlyList<string> NodesLastSeenUp(IEnumerable<object> nodeEvents)
    {
        var up = new HashSet<string>(StringComparer.Ordinal);
        foreach (var @event in nodeEvents)
        {
            switch (@event)
            {
                case NodeCameUp e: up.Add(e.NodeId); break;
                case NodeWentDown e: up.Remove(e.NodeId); break;
                case NodeRegistered e: up.Remove(e.NodeId); break;
                case NodeDeregistered e: up.Remove(e.NodeId); break;
            }
        }
        return up.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Reads the node events once and wakes the nodes last seen up; returns how many.</summary>
    public static async Task<int> WakeNodesLastSeenUp(ICurrentEventsByTagQuery journal, IActorRef nodeRegion, IMaterializer materializer)
    {
        var events = new List<object>();
        await journal.CurrentEventsByTag(EventTags.Node, Offset.NoOffset()).RunForeach(envelope => events.Add(envelope.Event), materializer);
        var nodes = NodesLastSeenUp(events);
        foreach (var nodeId in nodes) nodeRegion.Tell(new NodeCommands.WakeUp(nodeId));
        return nodes.Count;
    }
}
