using Akka.Persistence.Journal;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;

namespace ComputeNet.Actors.Persistence;

/// <summary>Write event adapter: tags every event so audit replay and projections can read by kind.</summary>
public sealed class EventTagger : IWriteEventAdapter
{
    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt switch
    {
        // Durability for live telemetry, compacted away: not an audit fact, and far too many for projections.
        NodeTelemetryCheckpointed => evt,
        // Drift (and down / up, a drift too) also carries the drift tag: /api/events?type=drift and computenet.events read it.
        // A deregistration and a capacity change (re-registration with another spec) are drift of the fleet as well.
        NodeEvents.NodeDrifted or NodeEvents.NodeWentDown or NodeEvents.NodeCameUp or NodeEvents.NodeDeregistered or NodeEvents.NodeUpdated
            => new Tagged(evt, [EventTags.Node, EventTags.Drift, EventTags.All]),
        TopologyEvents.LinkDrifted or TopologyEvents.LinkWentDown or TopologyEvents.LinkCameUp => new Tagged(evt, [EventTags.Link, EventTags.Drift, EventTags.All]),
        INodeEvent => new Tagged(evt, [EventTags.Node, EventTags.All]),
        AppAdjustmentEvents.AppRescheduled or AppAdjustmentEvents.MigrationCompleted or AppAdjustmentEvents.MigrationRolledBack
            or AppAdjustmentEvents.AppDegraded or AppAdjustmentEvents.AppDegradationCleared
            => new Tagged(evt, [EventTags.App, EventTags.Adjustment, EventTags.All]),
        IAppEvent => new Tagged(evt, [EventTags.App, EventTags.All]),
        ITopologyEvent => new Tagged(evt, [EventTags.Link, EventTags.All]),
        IComputeNetEvent => new Tagged(evt, [EventTags.All]),
        _ => evt,
    };
}
