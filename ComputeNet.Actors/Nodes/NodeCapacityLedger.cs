using ComputeNet.Actors.Placement;

namespace ComputeNet.Actors.Nodes;

/// <summary>What one subtask needs on a node.</summary>
public sealed record SubtaskDemand(string SubtaskId, Resources Demand);

/// <summary>
/// Capacity held for a plan that is not committed yet (资源预留): it counts against the node until
/// <see cref="ExpiresAt"/>, when the node releases it unless the plan was committed or aborted first.
/// </summary>
public sealed record CapacityReservation(string ReservationId, string AppId, IReadOnlyList<SubtaskDemand> Demands, DateTimeOffset ExpiresAt)
{
    public Resources Total => Demands.Aggregate(Resources.Zero, (sum, d) => sum + d.Demand);

    public bool IsLiveAt(DateTimeOffset now) => now < ExpiresAt;

    public bool Equals(CapacityReservation? other) =>
        other is not null && ReservationId == other.ReservationId && AppId == other.AppId && ExpiresAt == other.ExpiresAt
        && Demands.SequenceEqual(other.Demands);

    public override int GetHashCode() => HashCode.Combine(ReservationId, AppId, ExpiresAt);
}

/// <summary>Capacity a committed plan holds on the node until the app releases it (stop or re-placement).</summary>
public sealed record CapacityAllocation(string AppId, string SubtaskId, string ReservationId, Resources Demand);

/// <summary>
/// Pure capacity accounting of one node: what committed plans hold and what live reservations hold.
/// Part of <see cref="NodeState"/> (and so of its snapshot); changed only through node events.
/// </summary>
public sealed record NodeCapacityLedger(IReadOnlyList<CapacityReservation> Reservations, IReadOnlyList<CapacityAllocation> Allocations)
{
    public static NodeCapacityLedger Empty { get; } = new([], []);

    public Resources Committed => Allocations.Aggregate(Resources.Zero, (sum, a) => sum + a.Demand);

    public Resources ReservedAt(DateTimeOffset now) =>
        Reservations.Where(r => r.IsLiveAt(now)).Aggregate(Resources.Zero, (sum, r) => sum + r.Total);

    /// <summary>
    /// What ComputeNet's placements may hold on the node in total: its capacity, bounded by the forecast of what the node's
    /// other work leaves free. Agents report the node's use by everything except ComputeNet's own subtasks (their share is
    /// the ledger's), so the forecast is never reduced by a deployment or a migration of ours. Runtime adjustment
    /// (<c>AdjustmentPlanner</c>) applies the same rule to the subtasks already running.
    /// </summary>
    public static Resources Placeable(Resources capacity, Resources? forecastAvailable) =>
        forecastAvailable is { } forecast ? Resources.Min(capacity, forecast) : capacity;

    /// <summary>What a new reservation may take: <see cref="Placeable"/> minus what is committed and what live reservations hold; never negative.</summary>
    public Resources Available(Resources capacity, Resources? forecastAvailable, DateTimeOffset now) =>
        Resources.Max(Placeable(capacity, forecastAvailable) - Committed - ReservedAt(now), Resources.Zero);

    public CapacityReservation? Find(string reservationId) => Reservations.FirstOrDefault(r => r.ReservationId == reservationId);

    public bool IsCommitted(string reservationId) => Allocations.Any(a => a.ReservationId == reservationId);

    public NodeCapacityLedger Reserve(CapacityReservation reservation) =>
        this with { Reservations = [.. Reservations.Where(r => r.ReservationId != reservation.ReservationId), reservation] };

    /// <summary>The reservation's demands become allocations; a subtask placed here again replaces its old allocation.</summary>
    public NodeCapacityLedger Commit(string reservationId)
    {
        if (Find(reservationId) is not { } reservation) return this;
        var replaced = reservation.Demands.Select(d => d.SubtaskId).ToHashSet(StringComparer.Ordinal);
        return new NodeCapacityLedger(
            [.. Reservations.Where(r => r.ReservationId != reservationId)],
            [
                .. Allocations.Where(a => a.AppId != reservation.AppId || !replaced.Contains(a.SubtaskId)),
                .. reservation.Demands.Select(d => new CapacityAllocation(reservation.AppId, d.SubtaskId, reservationId, d.Demand)),
            ]);
    }

    public NodeCapacityLedger Drop(string reservationId) =>
        this with { Reservations = [.. Reservations.Where(r => r.ReservationId != reservationId)] };

    /// <summary>Frees an app's allocations: all of them, or only <paramref name="subtaskIds"/> when non-empty.</summary>
    public NodeCapacityLedger Release(string appId, IReadOnlyCollection<string> subtaskIds) =>
        this with
        {
            Allocations = [.. Allocations.Where(a => a.AppId != appId || (subtaskIds.Count > 0 && !subtaskIds.Contains(a.SubtaskId)))],
            // A reservation of a stopped app would only wait for its expiry.
            Reservations = subtaskIds.Count == 0 ? [.. Reservations.Where(r => r.AppId != appId)] : Reservations,
        };

    public bool Holds(string appId) => Allocations.Any(a => a.AppId == appId) || Reservations.Any(r => r.AppId == appId);

    public bool Equals(NodeCapacityLedger? other) =>
        other is not null && Reservations.SequenceEqual(other.Reservations) && Allocations.SequenceEqual(other.Allocations);

    public override int GetHashCode() => HashCode.Combine(Reservations.Count, Allocations.Count);
}
