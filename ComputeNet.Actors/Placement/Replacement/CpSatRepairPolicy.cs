namespace ComputeNet.Actors.Placement;

/// <summary>
/// Reference re-placement: CP-SAT over the whole app with the migration cost of each (subtask, node)
/// added to the objective, hinted with the greedy repair. Optimal when the solver proves it.
/// Forbidden targets get a prohibitive cost rather than a hard constraint, so the reference still
/// answers when only a forbidden node is feasible (the greedy repair would degrade there). When the
/// solver finds nothing in time, the greedy repair's plan is the answer (marked with
/// <see cref="CpSatPolicy.FallbackExplanation"/>). With <paramref name="movesFirst"/> every move also costs more than any objective difference, so
/// the solver finds the fewest moves first and the cheapest such plan second: the lower bound that
/// the benchmark holds the greedy repair's moves against.
/// </summary>
public sealed class CpSatRepairPolicy(MigrationCostWeights? migration = null, CpSatOptions? options = null, bool movesFirst = false) : IReplacementPolicy
{
    private const double ForbiddenCost = 1e3;

    // Far above any objective difference between two placements of one app (a node's idle watts
    // weigh well under one unit), far below the forbidden-target cost.
    private const double MovePriorityCost = 1e2;

    private readonly GreedyRepairPolicy _greedy = new(migration, new GreedyOptions(Weights: options?.Weights));

    public string Name => movesFirst ? "cp-sat-repair-fewest-moves" : "cp-sat-repair";

    public ReplacementResult Replace(PlacementProblem problem, IReadOnlyList<int> current, ReplacementRequest? request = null)
    {
        var before = FeasibilityChecker.Default.Validate(problem, current);
        var greedy = _greedy.Replace(problem, current, request);
        var hint = (greedy.Result as PlacementPlan)?.Assignment ?? current.Select(v => v >= 0 && v < problem.Nodes.Count ? v : 0).ToArray();
        var forbidden = request?.ForbiddenNodes;
        var solver = new CpSatPolicy(options);
        var result = solver.Solve(problem, (k, v) =>
            (current[k] < 0 || current[k] >= problem.Nodes.Count ? 0 : _greedy.Migration.Cost(problem, k, current[k], v))
            + (movesFirst && v != current[k] ? MovePriorityCost : 0)
            + (v != current[k] && forbidden is not null && forbidden.TryGetValue(k, out var nodes) && nodes.Contains(v) ? ForbiddenCost : 0),
            hint, Name);
        // The solver's own fallback places the app from scratch; the greedy repair is the better answer then.
        if (result is PlacementPlan { Explanation: CpSatPolicy.FallbackExplanation } && greedy.Result is PlacementPlan repaired)
            return greedy with { Result = repaired with { PolicyName = Name, Explanation = CpSatPolicy.FallbackExplanation } };
        return _greedy.Finish(problem, current, before, result, result is PlacementPlan ? null : greedy.BestPartial);
    }
}
