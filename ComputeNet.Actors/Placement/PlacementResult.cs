namespace ComputeNet.Actors.Placement;

/// <summary>
/// A placement policy (泛在调度). Every implementation must return either a plan that
/// <see cref="FeasibilityChecker"/> accepts or a rejection; the learned GNN-DRL policy plugs in
/// here too, masking its actions with <see cref="FeasibilityChecker.FeasibleNodes"/>.
/// </summary>
public interface IPlacementPolicy
{
    string Name { get; }

    PlacementResult Place(PlacementProblem problem);
}

/// <summary>A node the policy considered for a subtask, with the policy's score for it (lower is better).</summary>
public sealed record CandidateScore(int Node, string NodeId, double Score);

/// <summary>What a policy decided: a <see cref="PlacementPlan"/> or a <see cref="PlacementRejection"/>.</summary>
public abstract record PlacementResult(string PolicyName)
{
    public bool IsPlan => this is PlacementPlan;

    /// <summary>Why this policy decided (e.g. the learned policy's model, or that it fell back to a heuristic); null if nothing to add.</summary>
    public string? Explanation { get; init; }
}

/// <summary>
/// A feasible plan. <see cref="Assignment"/>[k] is the node index of subtask k;
/// <see cref="RunnersUp"/>[k] lists the next-best feasible nodes at decision time, so an operator
/// can see why the chosen one won. <see cref="ProvedOptimal"/> is set by exact policies only.
/// </summary>
public sealed record PlacementPlan(
    string PolicyName,
    IReadOnlyList<int> Assignment,
    IReadOnlyDictionary<string, string> NodeIdBySubtaskId,
    ObjectiveBreakdown Objective,
    IReadOnlyList<IReadOnlyList<CandidateScore>> RunnersUp) : PlacementResult(PolicyName)
{
    public bool? ProvedOptimal { get; init; }

    /// <summary>Backtracking steps a greedy policy needed (0 = pure greedy).</summary>
    public int Backtracks { get; init; }
}

/// <summary>No plan: the constraint that could not be met, and for which subtask.</summary>
public sealed record PlacementRejection(string PolicyName, ConstraintKind Constraint, string SubtaskId, string Reason)
    : PlacementResult(PolicyName);

internal static class PlanFactory
{
    public static PlacementPlan Create(
        string policy, PlacementProblem problem, IReadOnlyList<int> assignment, ObjectiveWeights weights,
        IReadOnlyList<IReadOnlyList<CandidateScore>>? runnersUp = null)
    {
        var names = new Dictionary<string, string>();
        for (var k = 0; k < assignment.Count; k++) names[problem.Subtasks[k].Id] = problem.Nodes[assignment[k]].Id;
        var objective = new PlacementObjective(problem, weights).Evaluate(assignment);
        return new PlacementPlan(policy, [.. assignment], names, objective,
            runnersUp ?? Enumerable.Range(0, assignment.Count).Select(_ => (IReadOnlyList<CandidateScore>)[]).ToArray());
    }

    /// <summary>
    /// The last line of defence for "never an infeasible plan": a plan the checker rejects becomes
    /// a rejection naming the broken constraint.
    /// </summary>
    public static PlacementResult Guard(PlacementProblem problem, PlacementPlan plan)
    {
        var violations = FeasibilityChecker.Default.Validate(problem, plan.Assignment);
        if (violations.Count == 0) return plan;
        var first = violations[0];
        return new PlacementRejection(plan.PolicyName, first.Constraint, problem.Subtasks[first.Subtask].Id,
            $"internal: the plan broke {first.Constraint}: {first.Detail}");
    }
}
