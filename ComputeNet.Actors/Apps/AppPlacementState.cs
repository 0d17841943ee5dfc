using ComputeNet.Actors.Scheduling;
using static ComputeNet.Actors.Apps.AppSchedulingEvents;

namespace ComputeNet.Actors.Apps;

/// <summary>
/// Where an app's subtasks are placed and how far their deployment got. Part of <see cref="AppState"/>;
/// <see cref="FailedSubtasks"/> non-empty means a re-placement of those subtasks is owed.
/// </summary>
public sealed record AppPlacementState(
    PlacementDecision? Decision,
    string? ReservationId,
    IReadOnlyList<string> ReservedNodes,
    string? DeploymentId,
    IReadOnlyList<string> Deployed,
    IReadOnlyList<string> FailedSubtasks,
    IReadOnlyList<string> AvoidNodes,
    int Replacements)
{
    public static AppPlacementState Empty { get; } = new(null, null, [], null, [], [], [], 0);

    /// <summary>Subtasks of the decision whose agent has not acknowledged them yet.</summary>
    public IEnumerable<SubtaskPlacement> Undeployed =>
        Decision is null ? [] : Decision.Subtasks.Where(s => !Deployed.Contains(s.SubtaskId));

    public AppPlacementState Apply(IAppEvent @event) => @event switch
    {
        PlacementDecided e => this with
        {
            Decision = e.Decision,
            ReservationId = e.ReservationId,
            ReservedNodes = e.ReservedNodes,
            // Subtasks that stay on their node stay deployed.
            Deployed = [.. Deployed.Where(s => Decision?.For(s)?.NodeId is { } before && e.Decision.For(s)?.NodeId == before)],
            FailedSubtasks = [],
            AvoidNodes = [],
        },
        DeploymentStarted e => this with { DeploymentId = e.DeploymentId },
        SubtaskDeployed e => Deployed.Contains(e.SubtaskId) ? this : this with { Deployed = [.. Deployed, e.SubtaskId] },
        SubtaskDeploymentFailed e => this with
        {
            FailedSubtasks = [.. FailedSubtasks.Union(e.SubtaskIds)],
            AvoidNodes = [.. AvoidNodes.Union(e.NodeIds)],
            Deployed = [.. Deployed.Where(s => !e.SubtaskIds.Contains(s))],
            Replacements = Replacements + 1,
        },
        _ => this,
    };

    public bool Equals(AppPlacementState? other) =>
        other is not null && Equals(Decision, other.Decision) && ReservationId == other.ReservationId
        && ReservedNodes.SequenceEqual(other.ReservedNodes) && DeploymentId == other.DeploymentId && Deployed.SequenceEqual(other.Deployed)
        && FailedSubtasks.SequenceEqual(other.FailedSubtasks) && AvoidNodes.SequenceEqual(other.AvoidNodes) && Replacements == other.Replacements;

    public override int GetHashCode() => HashCode.Combine(ReservationId, DeploymentId, Deployed.Count, Replacements);
}
