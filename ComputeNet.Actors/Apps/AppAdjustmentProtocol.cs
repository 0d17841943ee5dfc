using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Scheduling;

namespace ComputeNet.Actors.Apps;

// 运行调整: Running → Adjusting → Running. The rescheduler decides what moves; the app executes the
// moves make-before-break, every step a persisted event, and rolls back on any failure.

/// <summary>One subtask to move: reserve and deploy on <see cref="ToNodeId"/>, switch its peers, stop it on <see cref="FromNodeId"/>.</summary>
public sealed record PlannedMove(string SubtaskId, string FromNodeId, string ToNodeId, Resources Demand, bool BreakBeforeMake);

public static class AppAdjustmentCommands
{
    /// <summary>
    /// Move <paramref name="Moves"/> to reach <paramref name="NewDecision"/>. <paramref name="Trigger"/> names the events that
    /// set it off, <paramref name="Reason"/> what is wrong (the broken constraint or the forecast). Answered with
    /// <see cref="AppAdjustmentReplies.AdjustmentAnswer"/>; refused unless the app is Running on the decision's base.
    /// </summary>
    public sealed record AdjustApp(string AppId, string Trigger, string Reason, IReadOnlyList<PlannedMove> Moves, PlacementDecision NewDecision,
        double ObjectiveBefore, double ObjectiveAfter) : IAppMessage, IComputeNetMessage
    {
        public bool Equals(AdjustApp? other) =>
            other is not null && AppId == other.AppId && Trigger == other.Trigger && Reason == other.Reason && Moves.SequenceEqual(other.Moves)
            && NewDecision.Equals(other.NewDecision) && ObjectiveBefore.Equals(other.ObjectiveBefore) && ObjectiveAfter.Equals(other.ObjectiveAfter);

        public override int GetHashCode() => HashCode.Combine(AppId, Trigger, Moves.Count);
    }

    /// <summary>No feasible re-placement: <paramref name="Constraint"/> cannot be met for <paramref name="SubtaskId"/>; the app keeps its placement.</summary>
    public sealed record ReportDegradation(string AppId, string Trigger, string Constraint, string? SubtaskId, string Reason) : IAppMessage, IComputeNetMessage;

    /// <summary>The app's placement meets every constraint again.</summary>
    public sealed record ClearDegradation(string AppId, string Reason) : IAppMessage, IComputeNetMessage;

    /// <summary>Answered with <see cref="AppAdjustmentReplies.AdjustmentView"/> or <see cref="AppReplies.AppNotFound"/>.</summary>
    public sealed record GetAdjustmentView(string AppId) : IAppMessage, IComputeNetMessage;
}

public static class AppAdjustmentReplies
{
    /// <param name="Outcome">"started", "recorded", "unchanged" or "refused: why".</param>
    public sealed record AdjustmentAnswer(string AppId, string Outcome) : IComputeNetMessage;

    /// <summary>What the rescheduler needs to judge a running app: its spec, decomposition, placement, migration and degradation.</summary>
    public sealed record AdjustmentView(string AppId, AppLifecycle Lifecycle, string SpecJson, string? DecompositionJson, PlacementDecision? Decision,
        AppMigrationState? Migration, AppDegradation? Degradation) : IComputeNetMessage;
}

public static class AppAdjustmentEvents
{
    /// <summary>
    /// The app is re-placed (lifecycle Adjusting): why (<paramref name="Trigger"/>, <paramref name="Reason"/>), which subtasks move
    /// where, in make-before-break order, and the app's objective before and after. Executed under <paramref name="MigrationId"/>.
    /// </summary>
    public sealed record AppRescheduled(string AppId, string MigrationId, string Trigger, string Reason, IReadOnlyList<PlannedMove> Moves,
        PlacementDecision NewDecision, double ObjectiveBefore, double ObjectiveAfter, DateTimeOffset At) : IAppEvent
    {
        public bool Equals(AppRescheduled? other) =>
            other is not null && AppId == other.AppId && MigrationId == other.MigrationId && Trigger == other.Trigger && Reason == other.Reason
            && Moves.SequenceEqual(other.Moves) && NewDecision.Equals(other.NewDecision) && ObjectiveBefore.Equals(other.ObjectiveBefore)
            && ObjectiveAfter.Equals(other.ObjectiveAfter) && At == other.At;

        public override int GetHashCode() => HashCode.Combine(AppId, MigrationId, At);
    }

    /// <summary>The target nodes hold the moved subtasks' capacity (reservation <paramref name="MigrationId"/>, about to be committed).</summary>
    public sealed record MigrationReserved(string AppId, string MigrationId, DateTimeOffset At) : IAppEvent;

    /// <summary>The new instance of a moved subtask runs (its agent acknowledged the deploy command).</summary>
    public sealed record MigrationSubtaskDeployed(string AppId, string MigrationId, string SubtaskId, string NodeId, DateTimeOffset At) : IAppEvent;

    /// <summary>Every peer sends to the new instances: the new placement is the app's placement; the old instances are stopped next.</summary>
    public sealed record MigrationTrafficSwitched(string AppId, string MigrationId, DateTimeOffset At) : IAppEvent;

    /// <summary>The old instances are stopped and their capacity released (lifecycle Running).</summary>
    public sealed record MigrationCompleted(string AppId, string MigrationId, DateTimeOffset At) : IAppEvent;

    /// <summary>A step failed or timed out: the new instances are stopped, their capacity released; the old placement stays (lifecycle Running).</summary>
    public sealed record MigrationRolledBack(string AppId, string MigrationId, string Reason, DateTimeOffset At) : IAppEvent;

    /// <summary>No feasible re-placement: which constraint fails for which subtask; the current placement is kept as the best partial service.</summary>
    public sealed record AppDegraded(string AppId, string Trigger, string Constraint, string? SubtaskId, string Reason, DateTimeOffset At) : IAppEvent;

    public sealed record AppDegradationCleared(string AppId, string Reason, DateTimeOffset At) : IAppEvent;
}

public enum MigrationStep
{
    /// <summary>Decided; reservations on the target nodes may or may not exist yet.</summary>
    Started,
    /// <summary>Capacity held on the targets; deploying the new instances.</summary>
    Reserved,
    /// <summary>Traffic on the new instances; stopping the old ones.</summary>
    Switched,
}

/// <summary>The migration in flight (null when none), part of <see cref="AppState"/>.</summary>
public sealed record AppMigrationState(string MigrationId, string Trigger, IReadOnlyList<PlannedMove> Moves, PlacementDecision NewDecision,
    MigrationStep Step, IReadOnlyList<string> Deployed)
{
    public IEnumerable<string> TargetNodes => Moves.Select(m => m.ToNodeId).Distinct(StringComparer.Ordinal);

    public bool Equals(AppMigrationState? other) =>
        other is not null && MigrationId == other.MigrationId && Trigger == other.Trigger && Moves.SequenceEqual(other.Moves)
        && NewDecision.Equals(other.NewDecision) && Step == other.Step && Deployed.SequenceEqual(other.Deployed);

    public override int GetHashCode() => HashCode.Combine(MigrationId, Step, Deployed.Count);
}

/// <summary>Why the app runs degraded: the constraint that no placement can meet, for which subtask.</summary>
public sealed record AppDegradation(string Trigger, string Constraint, string? SubtaskId, string Reason, DateTimeOffset Since);
