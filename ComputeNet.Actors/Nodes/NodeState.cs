using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Nodes.NodeEvents;

namespace ComputeNet.Actors.Nodes;

public enum NodeLifecycle
{
    Unregistered,
    Registered,
    Deregistered,
}

/// <summary>
/// A node's durable state. <see cref="Apply"/> is the one place that decides what an event means:
/// the actor calls it after persisting and during recovery alike. It doubles as the snapshot.
/// </summary>
public sealed record NodeState(
    string NodeId,
    NodeLifecycle Lifecycle,
    NodeSpec? Spec,
    AgentCredentials? Agent,
    DateTimeOffset RegisteredAt,
    DateTimeOffset UpdatedAt,
    long Version) : IComputeNetSnapshot
{
    /// <summary>Changed only by <see cref="NodeWentDown"/> / <see cref="NodeCameUp"/>, which do not count in <see cref="Version"/> (the spec's version).</summary>
    public NodeHealth Health { get; init; }

    public DateTimeOffset? HealthChangedAt { get; init; }

    /// <summary>Live telemetry: not event-sourced, carried by snapshots only (older snapshots lack it: empty).</summary>
    public NodeTelemetryState Telemetry { get; init; } = NodeTelemetryState.Empty;

    // ── Forecasting and drift (算力预测) ──

    /// <summary>The forecasters' history: carried by snapshots only (the actor's live forecaster is the authority in between).</summary>
    public LiveForecastState Forecast { get; init; } = LiveForecastState.Empty;

    /// <summary>Per metric, the latest confirmed drift: a drift re-detected from replayed telemetry is not persisted twice.</summary>
    public DriftMarks Drifts { get; init; } = DriftMarks.None;

    // --- Reservations (资源分配/预留) ---

    /// <summary>Committed allocations and live reservations; event-sourced (older snapshots lack it: empty).</summary>
    public NodeCapacityLedger Capacity { get; init; } = NodeCapacityLedger.Empty;

    /// <summary>Registered and not reported down: may take new reservations.</summary>
    public bool IsSchedulable => IsRegistered && Health != NodeHealth.Down;

    /// <summary>The registered capacity in the placement library's terms.</summary>
    public Placement.Resources RegisteredCapacity =>
        Spec is null ? Placement.Resources.Zero : new(Spec.CpuCores, Spec.MemoryGb, Spec.StorageGb, Spec.Gpus);

    private NodeState ApplyReservation(INodeEvent @event) => @event switch
    {
        ReservationEvents.CapacityReserved e => this with
        {
            Capacity = Capacity.Reserve(new CapacityReservation(e.ReservationId, e.AppId, e.Demands, e.ExpiresAt)),
        },
        ReservationEvents.CapacityCommitted e => this with { Capacity = Capacity.Commit(e.ReservationId) },
        ReservationEvents.ReservationReleased e => this with { Capacity = Capacity.Drop(e.ReservationId) },
        ReservationEvents.CapacityReleased e => this with { Capacity = Capacity.Release(e.AppId, e.SubtaskIds) },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown node event"),
    };

    // --- end reservations ---

    public static NodeState Empty(string nodeId) =>
        new(nodeId, NodeLifecycle.Unregistered, null, null, default, default, 0);

    public bool IsRegistered => Lifecycle == NodeLifecycle.Registered;

    public NodeState Apply(INodeEvent @event) => @event switch
    {
        NodeRegistered e => this with
        {
            Lifecycle = NodeLifecycle.Registered,
            Spec = e.Spec,
            Agent = e.Agent,
            RegisteredAt = e.At,
            UpdatedAt = e.At,
            Version = Version + 1,
            // A new registration brings a new agent whose seq starts afresh.
            Health = NodeHealth.Unknown,
            HealthChangedAt = null,
            Telemetry = NodeTelemetryState.Empty,
            Forecast = LiveForecastState.Empty,
            Drifts = DriftMarks.None,
        },
        NodeUpdated e => this with { Spec = e.Spec, UpdatedAt = e.At, Version = Version + 1 },
        NodeDeregistered e => this with { Lifecycle = NodeLifecycle.Deregistered, UpdatedAt = e.At, Version = Version + 1 },
        NodeWentDown e => this with { Health = NodeHealth.Down, HealthChangedAt = e.At },
        NodeCameUp e => this with { Health = NodeHealth.Up, HealthChangedAt = e.At },
        NodeDrifted e => this with { Drifts = Drifts.With(e.Metric, e.ConfirmedAt) },
        _ => ApplyReservation(@event),
    };
}
