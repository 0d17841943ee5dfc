using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;

namespace ComputeNet.Actors.Nodes;

// 资源分配/预留: two-phase reservations on a NodeActor. A plan reserves on every node it uses, then
// commits everywhere or aborts everywhere; a reservation neither committed nor aborted expires.

public static class ReservationCommands
{
    /// <summary>
    /// Hold <paramref name="Demands"/> for <paramref name="Ttl"/>; answered with <see cref="ReservationReplies.ReservationGranted"/>
    /// or <see cref="ReservationReplies.ReservationRefused"/>. Idempotent per <paramref name="ReservationId"/>.
    /// </summary>
    public sealed record ReserveCapacity(string NodeId, string ReservationId, string AppId, IReadOnlyList<SubtaskDemand> Demands, TimeSpan Ttl)
        : INodeMessage, IComputeNetMessage
    {
        public bool Equals(ReserveCapacity? other) =>
            other is not null && NodeId == other.NodeId && ReservationId == other.ReservationId && AppId == other.AppId
            && Ttl == other.Ttl && Demands.SequenceEqual(other.Demands);

        public override int GetHashCode() => HashCode.Combine(NodeId, ReservationId, AppId, Ttl);
    }

    /// <summary>Turn a live reservation into allocations; answered with <see cref="ReservationReplies.ReservationCommitted"/> or a refusal.</summary>
    public sealed record CommitReservation(string NodeId, string ReservationId) : INodeMessage, IComputeNetMessage;

    /// <summary>Drop a reservation (the plan failed elsewhere); answered with <see cref="ReservationReplies.ReservationAborted"/>.</summary>
    public sealed record AbortReservation(string NodeId, string ReservationId) : INodeMessage, IComputeNetMessage;

    /// <summary>
    /// Free what an app holds on the node: every allocation, or only those of <paramref name="SubtaskIds"/>
    /// when non-empty. Answered with <see cref="ReservationReplies.CapacityReleaseDone"/>; idempotent.
    /// </summary>
    public sealed record ReleaseCapacity(string NodeId, string AppId, IReadOnlyList<string> SubtaskIds) : INodeMessage, IComputeNetMessage
    {
        public bool Equals(ReleaseCapacity? other) =>
            other is not null && NodeId == other.NodeId && AppId == other.AppId && SubtaskIds.SequenceEqual(other.SubtaskIds);

        public override int GetHashCode() => HashCode.Combine(NodeId, AppId, SubtaskIds.Count);
    }

    /// <summary>Answered with <see cref="ReservationReplies.NodeCapacityView"/> (or <see cref="NodeReplies.NodeNotFound"/>).</summary>
    public sealed record GetNodeCapacity(string NodeId) : INodeMessage, IComputeNetMessage;
}

public static class ReservationReplies
{
    /// <param name="AvailableAfter">what the node can still reserve after this reservation.</param>
    public sealed record ReservationGranted(string NodeId, string ReservationId, Resources AvailableAfter) : IComputeNetMessage;

    /// <param name="Available">what the node could reserve when it refused, so the planner can re-plan on fresh numbers.</param>
    public sealed record ReservationRefused(string NodeId, string ReservationId, string Reason, Resources Available) : IComputeNetMessage;

    public sealed record ReservationCommitted(string NodeId, string ReservationId) : IComputeNetMessage;

    public sealed record ReservationAborted(string NodeId, string ReservationId) : IComputeNetMessage;

    public sealed record CapacityReleaseDone(string NodeId, string AppId) : IComputeNetMessage;

    /// <param name="Schedulable">registered and not down: new reservations are possible.</param>
    public sealed record NodeCapacityView(string NodeId, bool Schedulable, Resources Capacity, Resources Committed, Resources Reserved,
        Resources Available, IReadOnlyList<CapacityAllocation> Allocations, IReadOnlyList<CapacityReservation> Reservations) : IComputeNetMessage
    {
        public bool Equals(NodeCapacityView? other) =>
            other is not null && NodeId == other.NodeId && Schedulable == other.Schedulable && Capacity == other.Capacity
            && Committed == other.Committed && Reserved == other.Reserved && Available == other.Available
            && Allocations.SequenceEqual(other.Allocations) && Reservations.SequenceEqual(other.Reservations);

        public override int GetHashCode() => HashCode.Combine(NodeId, Available);
    }
}

public static class ReservationEvents
{
    public sealed record CapacityReserved(string NodeId, string ReservationId, string AppId, IReadOnlyList<SubtaskDemand> Demands,
        DateTimeOffset ExpiresAt, DateTimeOffset At) : INodeEvent
    {
        public bool Equals(CapacityReserved? other) =>
            other is not null && NodeId == other.NodeId && ReservationId == other.ReservationId && AppId == other.AppId
            && ExpiresAt == other.ExpiresAt && At == other.At && Demands.SequenceEqual(other.Demands);

        public override int GetHashCode() => HashCode.Combine(NodeId, ReservationId, At);
    }

    public sealed record CapacityCommitted(string NodeId, string ReservationId, DateTimeOffset At) : INodeEvent;

    /// <summary>A reservation dropped without commit; <paramref name="Reason"/> is "aborted" or "expired".</summary>
    public sealed record ReservationReleased(string NodeId, string ReservationId, string Reason, DateTimeOffset At) : INodeEvent;

    /// <summary>An app gave back its allocations (all, or those of <paramref name="SubtaskIds"/>).</summary>
    public sealed record CapacityReleased(string NodeId, string AppId, IReadOnlyList<string> SubtaskIds, DateTimeOffset At) : INodeEvent
    {
        public bool Equals(CapacityReleased? other) =>
            other is not null && NodeId == other.NodeId && AppId == other.AppId && At == other.At && SubtaskIds.SequenceEqual(other.SubtaskIds);

        public override int GetHashCode() => HashCode.Combine(NodeId, AppId, At);
    }
}
