namespace ComputeNet.Actors.Scheduling;

/// <summary>Between an <see cref="Apps.AppActor"/> and its member's <see cref="SchedulerActor"/> (local messages).</summary>
public static class SchedulerProtocol
{
    /// <summary>Plan and reserve; answered with <see cref="PlacementReserved"/> or <see cref="PlacementImpossible"/>.</summary>
    public sealed record PlaceApp(PlanRequest Request);

    /// <summary>
    /// Every node of the decision holds a live reservation <paramref name="ReservationId"/> for the subtasks it
    /// gets (<paramref name="ReservedNodes"/>); the app commits them, or lets them expire.
    /// </summary>
    public sealed record PlacementReserved(string AppId, string ReservationId, PlacementDecision Decision, IReadOnlyList<string> ReservedNodes)
    {
        /// <summary>The subtasks this plan moved (empty: a whole-app plan).</summary>
        public IReadOnlyCollection<string> Replaced { get; init; } = [];
    }

    public sealed record PlacementImpossible(string AppId, string Reason);
}
