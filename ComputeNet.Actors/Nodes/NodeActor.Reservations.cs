using Akka.Actor;
using ComputeNet.Actors.Forecasting;
using static ComputeNet.Actors.Nodes.ReservationCommands;
using static ComputeNet.Actors.Nodes.ReservationEvents;
using static ComputeNet.Actors.Nodes.ReservationReplies;

namespace ComputeNet.Actors.Nodes;

/// <summary>
/// Two-phase reservations (资源分配/预留). The check and the persist of a reservation happen in one
/// command (Persist stashes later commands until its handler ran), so concurrent plans can never
/// over-commit the node; every change is an event, so the accounting survives restarts.
/// </summary>
public sealed partial class NodeActor
{
    private sealed record ReservationExpired(string ReservationId);

    private static string ExpiryTimer(string reservationId) => $"reservation-{reservationId}";

    private void RegisterReservationHandlers()
    {
        Command<ReserveCapacity>(Handle);
        Command<CommitReservation>(Handle);
        Command<AbortReservation>(Handle);
        Command<ReleaseCapacity>(Handle);
        Command<GetNodeCapacity>(_ => Sender.Tell(CapacityView()));
        Command<ReservationExpired>(expired => ExpireReservation(expired.ReservationId));
    }

    private Placement.Resources AvailableNow() =>
        _state.Capacity.Available(_state.RegisteredCapacity, ForecastAvailable(), _clock.GetUtcNow());

    private (LiveForecaster? Forecaster, long IntervalsClosed, Placement.Resources? Available) _forecastAvailable;

    /// <summary>
    /// What the forecaster expects the node to have over the configured horizons (null before any history):
    /// the scheduler decides on what the node will have, not on its last sample. Computed once per closed interval.
    /// </summary>
    private Placement.Resources? ForecastAvailable()
    {
        if (_state.Spec is null || _state.Telemetry.Latest is null) return null;
        var forecaster = Forecaster();
        if (ReferenceEquals(forecaster, _forecastAvailable.Forecaster) && forecaster.IntervalsClosed == _forecastAvailable.IntervalsClosed)
            return _forecastAvailable.Available;
        var available = NodeMetrics.ForecastAvailable(_state.Spec, forecaster.Forecast());
        _forecastAvailable = (forecaster, forecaster.IntervalsClosed, available);
        return available;
    }

    private void Handle(ReserveCapacity command)
    {
        var now = _clock.GetUtcNow();
        if (_state.Capacity.Find(command.ReservationId) is { } existing && existing.IsLiveAt(now))
        {
            Sender.Tell(new ReservationGranted(command.NodeId, command.ReservationId, AvailableNow()));
            return;
        }

        var available = AvailableNow();
        var demand = command.Demands.Aggregate(Placement.Resources.Zero, (sum, d) => sum + d.Demand);
        var refusal = _state switch
        {
            { IsRegistered: false } => $"node '{command.NodeId}' is not registered",
            { Health: Model.NodeHealth.Down } => $"node '{command.NodeId}' is down",
            _ when command.Ttl <= TimeSpan.Zero => "the reservation's time-to-live must be positive",
            _ when _state.Capacity.IsCommitted(command.ReservationId) => $"reservation '{command.ReservationId}' is already committed",
            _ when !demand.FitsIn(available) => $"node '{command.NodeId}' has {Describe(available)} free, the plan needs {Describe(demand)}",
            _ => null,
        };
        if (refusal is not null)
        {
            // A node that cannot take reservations at all offers nothing, so planners stop choosing it.
            Sender.Tell(new ReservationRefused(command.NodeId, command.ReservationId, refusal,
                _state.IsSchedulable ? available : Placement.Resources.Zero));
            return;
        }

        Timers.StartSingleTimer(ExpiryTimer(command.ReservationId), new ReservationExpired(command.ReservationId), command.Ttl);
        PersistAndReply(new CapacityReserved(command.NodeId, command.ReservationId, command.AppId, command.Demands, now + command.Ttl, now),
            () => new ReservationGranted(command.NodeId, command.ReservationId, AvailableNow()));
    }

    private void Handle(CommitReservation command)
    {
        if (_state.Capacity.IsCommitted(command.ReservationId))
        {
            Sender.Tell(new ReservationCommitted(command.NodeId, command.ReservationId));
            return;
        }
        if (_state.Capacity.Find(command.ReservationId) is not { } reservation || !reservation.IsLiveAt(_clock.GetUtcNow()))
        {
            Sender.Tell(new ReservationRefused(command.NodeId, command.ReservationId,
                $"reservation '{command.ReservationId}' on node '{command.NodeId}' expired or is unknown", AvailableNow()));
            return;
        }

        Timers.Cancel(ExpiryTimer(command.ReservationId));
        PersistAndReply(new CapacityCommitted(command.NodeId, command.ReservationId, _clock.GetUtcNow()),
            () => new ReservationCommitted(command.NodeId, command.ReservationId));
    }

    private void Handle(AbortReservation command)
    {
        Timers.Cancel(ExpiryTimer(command.ReservationId));
        if (_state.Capacity.Find(command.ReservationId) is null)
        {
            Sender.Tell(new ReservationAborted(command.NodeId, command.ReservationId));
            return;
        }
        PersistAndReply(new ReservationReleased(command.NodeId, command.ReservationId, "aborted", _clock.GetUtcNow()),
            () => new ReservationAborted(command.NodeId, command.ReservationId));
    }

    private void Handle(ReleaseCapacity command)
    {
        var holds = command.SubtaskIds.Count == 0
            ? _state.Capacity.Holds(command.AppId)
            : _state.Capacity.Allocations.Any(a => a.AppId == command.AppId && command.SubtaskIds.Contains(a.SubtaskId));
        if (!holds)
        {
            Sender.Tell(new CapacityReleaseDone(command.NodeId, command.AppId));
            return;
        }
        PersistAndReply(new CapacityReleased(command.NodeId, command.AppId, command.SubtaskIds, _clock.GetUtcNow()),
            () => new CapacityReleaseDone(command.NodeId, command.AppId));
    }

    private void ExpireReservation(string reservationId)
    {
        if (_state.Capacity.Find(reservationId) is not { } reservation) return;
        var now = _clock.GetUtcNow();
        if (reservation.IsLiveAt(now))
        {
            // The timer fired early relative to this actor's clock (e.g. a test clock): wait for the rest.
            Timers.StartSingleTimer(ExpiryTimer(reservationId), new ReservationExpired(reservationId), reservation.ExpiresAt - now);
            return;
        }
        Persist(new ReservationReleased(_state.NodeId, reservationId, "expired", now), persisted =>
        {
            _state = _state.Apply(persisted);
            if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshotNow();
        });
    }

    /// <summary>After recovery: reservations that outlived the previous incarnation expire on their original schedule.</summary>
    private void ScheduleReservationExpiries()
    {
        var now = _clock.GetUtcNow();
        foreach (var reservation in _state.Capacity.Reservations)
        {
            var remaining = reservation.ExpiresAt - now;
            Timers.StartSingleTimer(ExpiryTimer(reservation.ReservationId), new ReservationExpired(reservation.ReservationId),
                remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        }
    }

    private object CapacityView() => _state.Spec is null
        ? new NodeReplies.NodeNotFound(_state.NodeId)
        : new NodeCapacityView(_state.NodeId, _state.IsSchedulable, _state.RegisteredCapacity, _state.Capacity.Committed,
            _state.Capacity.ReservedAt(_clock.GetUtcNow()), AvailableNow(), _state.Capacity.Allocations, _state.Capacity.Reservations);

    private static string Describe(Placement.Resources r) =>
        $"{r.CpuCores:0.##} cores / {r.MemoryGb:0.##} GB memory / {r.StorageGb:0.##} GB storage / {r.Gpus:0.##} GPUs";
}
