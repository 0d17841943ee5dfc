using ComputeNet.Actors.Placement;

namespace ComputeNet.Actors.Scheduling;

/// <summary>A node the policy weighed for a subtask but did not choose, with its score (lower is better).</summary>
public sealed record RunnerUp(string NodeId, double Score);

/// <summary>Where one subtask goes, what it holds there, and the nodes that came next.</summary>
public sealed record SubtaskPlacement(string SubtaskId, string NodeId, Resources Demand, IReadOnlyList<RunnerUp> RunnersUp)
{
    public bool Equals(SubtaskPlacement? other) =>
        other is not null && SubtaskId == other.SubtaskId && NodeId == other.NodeId && Demand == other.Demand
        && RunnersUp.SequenceEqual(other.RunnersUp);

    public override int GetHashCode() => HashCode.Combine(SubtaskId, NodeId);
}

/// <summary>
/// A placement as persisted with the app (泛在调度 decision): which decomposition granularity, which
/// policy, the objective's terms, and per subtask the node chosen and the runners-up, so an operator
/// can see why.
/// </summary>
public sealed record PlacementDecision(
    string Granularity,
    string Policy,
    ObjectiveBreakdown Objective,
    IReadOnlyList<SubtaskPlacement> Subtasks,
    int PlanningRounds)
{
    public SubtaskPlacement? For(string subtaskId) => Subtasks.FirstOrDefault(s => s.SubtaskId == subtaskId);

    public IEnumerable<string> NodeIds => Subtasks.Select(s => s.NodeId).Distinct(StringComparer.Ordinal);

    public string Summary =>
        $"{Policy} placed {Subtasks.Count} {Granularity} subtask(s) on {NodeIds.Count()} node(s), objective {Objective.Total:0.####}";

    public bool Equals(PlacementDecision? other) =>
        other is not null && Granularity == other.Granularity && Policy == other.Policy && Objective == other.Objective
        && PlanningRounds == other.PlanningRounds && Subtasks.SequenceEqual(other.Subtasks);

    public override int GetHashCode() => HashCode.Combine(Granularity, Policy, Subtasks.Count);
}
