using Akka.Actor;
using Akka.Persistence.Query;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Topology;

namespace ComputeNet.Actors.Drift;

public static class DriftEventLogProtocol
{
    /// <summary>The latest drift events, newest last; <paramref name="Limit"/> caps how many.</summary>
    public sealed record ListDriftEvents(int Limit);

    /// <param name="Type">the event's stable manifest, e.g. "node-drifted"; <paramref name="Entity"/> a node id or "src|dst".</param>
    public sealed record DriftEntry(string Type, string Entity, object Event);

    public sealed record DriftEvents(IReadOnlyList<DriftEntry> Events, long EventsSeen);
}

/// <summary>
/// The recent drift events of every node and link (NodeDrifted, LinkDrifted, down / up), projected from the
/// journal's "drift" tag. Bounded: the journal stays the full record (audit replay).
/// </summary>
public sealed class DriftEventLog : TagProjection
{
    private readonly int _capacity;
    private readonly Queue<DriftEventLogProtocol.DriftEntry> _recent = new();

    public DriftEventLog(IEventsByTagQuery readJournal, int capacity) : base(readJournal, EventTags.Drift)
    {
        _capacity = capacity;
        Receive<DriftEventLogProtocol.ListDriftEvents>(query => Sender.Tell(new DriftEventLogProtocol.DriftEvents(
            _recent.Skip(Math.Max(0, _recent.Count - query.Limit)).ToList(), EventsSeen)));
    }

    public static Props Props(IEventsByTagQuery readJournal, int capacity = 1000) =>
        Akka.Actor.Props.Create(() => new DriftEventLog(readJournal, capacity));

    /// <summary>A node id for node events, "src|dst" for link events, the app id for app events.</summary>
    public static string EntityOf(object @event) => @event switch
    {
        INodeEvent e => e.NodeId,
        Apps.IAppEvent e => e.AppId,
        ITopologyEvent e => LinkKeys.Of(e.Src, e.Dst),
        _ => "",
    };

    protected override void Apply(object @event)
    {
        _recent.Enqueue(new DriftEventLogProtocol.DriftEntry(ComputeNetSerializer.ManifestOf(@event), EntityOf(@event), @event));
        while (_recent.Count > _capacity) _recent.Dequeue();
    }
}
