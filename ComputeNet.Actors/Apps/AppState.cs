using System.Collections.Immutable;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Apps.AppEvents;

namespace ComputeNet.Actors.Apps;

/// <summary>An application's durable state; <see cref="Apply"/> is the one place that decides what an event means.</summary>
public sealed record AppState(
    string AppId,
    string Name,
    AppLifecycle Lifecycle,
    string? SpecJson,
    string? DecompositionJson,
    ImmutableList<AppTransition> History) : IComputeNetSnapshot
{
    public static AppState Empty(string appId) => new(appId, "", AppLifecycle.Unknown, null, null, []);

    public bool Exists => Lifecycle != AppLifecycle.Unknown;

    /// <summary>Placement and deployment (older snapshots lack it: empty).</summary>
    public AppPlacementState Placement { get; init; } = AppPlacementState.Empty;

    /// <summary>The runtime adjustment in flight (运行调整), or null.</summary>
    public AppMigrationState? Migration { get; init; }

    /// <summary>Why the app runs degraded (no feasible re-placement), or null.</summary>
    public AppDegradation? Degradation { get; init; }

    public AppState Apply(IAppEvent @event) => @event switch
    {
        AppSubmitted e => this with
        {
            Name = e.Name, SpecJson = e.SpecJson, Lifecycle = AppLifecycle.Submitted,
            History = History.Add(new AppTransition(AppLifecycle.Submitted, e.At, "submitted")),
        },
        AppDecomposed e => this with
        {
            DecompositionJson = e.DecompositionJson, Lifecycle = AppLifecycle.Decomposed,
            History = History.Add(new AppTransition(AppLifecycle.Decomposed, e.At, e.Summary)),
        },
        AppRejected e => this with
        {
            Lifecycle = AppLifecycle.Rejected,
            History = History.Add(new AppTransition(AppLifecycle.Rejected, e.At, e.Reason)),
        },
        AppStopped e => this with
        {
            Lifecycle = AppLifecycle.Stopped,
            History = History.Add(new AppTransition(AppLifecycle.Stopped, e.At, e.Reason)),
        },
        AppSchedulingEvents.PlacementDecided e => Transition(AppLifecycle.Planned, e, e.Reason + ": " + e.Decision.Summary),
        AppSchedulingEvents.DeploymentStarted e => Transition(AppLifecycle.Deploying, e, $"deploy commands sent (deployment {e.DeploymentId})"),
        AppSchedulingEvents.SubtaskDeployed e => this with { Placement = Placement.Apply(e) },
        AppSchedulingEvents.SubtaskDeploymentFailed e => Transition(Lifecycle, e,
            $"deployment of {string.Join(", ", e.SubtaskIds)} failed ({e.Reason}); re-placing"),
        AppSchedulingEvents.AppRunning e => Transition(AppLifecycle.Running, e, "every agent acknowledged its subtasks"),
        AppAdjustmentEvents.AppRescheduled e => Transition(AppLifecycle.Adjusting, e,
            $"{e.Reason} (trigger: {e.Trigger}); moving {string.Join(", ", e.Moves.Select(m => $"{m.SubtaskId} {m.FromNodeId} → {m.ToNodeId}"))}, " +
            $"objective {e.ObjectiveBefore:0.####} → {e.ObjectiveAfter:0.####}") with
        {
            Migration = new AppMigrationState(e.MigrationId, e.Trigger, e.Moves, e.NewDecision, MigrationStep.Started, []),
        },
        AppAdjustmentEvents.MigrationReserved e when Migration is { } m && m.MigrationId == e.MigrationId =>
            this with { Migration = m with { Step = MigrationStep.Reserved } },
        AppAdjustmentEvents.MigrationSubtaskDeployed e when Migration is { } m && m.MigrationId == e.MigrationId =>
            this with { Migration = m.Deployed.Contains(e.SubtaskId) ? m : m with { Deployed = [.. m.Deployed, e.SubtaskId] } },
        AppAdjustmentEvents.MigrationTrafficSwitched e when Migration is { } m && m.MigrationId == e.MigrationId => this with
        {
            Migration = m with { Step = MigrationStep.Switched },
            Placement = Placement with { Decision = m.NewDecision },
        },
        AppAdjustmentEvents.MigrationCompleted e => Transition(AppLifecycle.Running, e, $"migration {e.MigrationId} done: old instances stopped") with { Migration = null },
        AppAdjustmentEvents.MigrationRolledBack e => Transition(AppLifecycle.Running, e, $"migration {e.MigrationId} rolled back: {e.Reason}") with { Migration = null },
        AppAdjustmentEvents.AppDegraded e => this with
        {
            Degradation = new AppDegradation(e.Trigger, e.Constraint, e.SubtaskId, e.Reason, Degradation?.Since ?? e.At),
            History = History.Add(new AppTransition(Lifecycle, e.At, $"degraded (trigger: {e.Trigger}): {e.Reason}; keeping the current placement")),
        },
        AppAdjustmentEvents.AppDegradationCleared e => this with
        {
            Degradation = null,
            History = History.Add(new AppTransition(Lifecycle, e.At, $"recovered: {e.Reason}")),
        },
        // Migration steps of another migration than the current one change nothing.
        AppAdjustmentEvents.MigrationReserved or AppAdjustmentEvents.MigrationSubtaskDeployed or AppAdjustmentEvents.MigrationTrafficSwitched => this,
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown app event"),
    };

    private AppState Transition(AppLifecycle lifecycle, IAppEvent e, string reason) => this with
    {
        Lifecycle = lifecycle,
        Placement = Placement.Apply(e),
        History = History.Add(new AppTransition(lifecycle, e.At, reason)),
    };

    public bool Equals(AppState? other) =>
        other is not null && AppId == other.AppId && Name == other.Name && Lifecycle == other.Lifecycle
        && SpecJson == other.SpecJson && DecompositionJson == other.DecompositionJson && History.SequenceEqual(other.History)
        && Placement.Equals(other.Placement)
        && Equals(Migration, other.Migration) && Equals(Degradation, other.Degradation);

    public override int GetHashCode() => HashCode.Combine(AppId, Lifecycle, History.Count);
}
