namespace ComputeNet.Actors.Placement;

/// <summary>
/// Price of disturbing a running deployment (运行调整), in the objective's units: a fixed cost per
/// moved subtask, its state to copy, and its image to pull where the target node has no copy.
/// </summary>
public sealed record MigrationCostWeights(double PerMove = 0.05, double PerStateGb = 0.02, double PerImagePullGb = 0.01)
{
    public static readonly MigrationCostWeights Default = new();

    public double Cost(PlacementProblem problem, int subtask, int fromNode, int toNode)
    {
        if (fromNode == toNode) return 0;
        var s = problem.Subtasks[subtask];
        var cached = s.ImageId is not null && problem.Nodes[toNode].CachedImages.Contains(s.ImageId);
        return PerMove + PerStateGb * s.StateSizeGb + (cached ? 0 : PerImagePullGb * s.ImageSizeGb);
    }
}

public sealed record SubtaskMove(int Subtask, string SubtaskId, int FromNode, int ToNode, double Cost);

/// <summary>
/// Outcome of a re-placement. <see cref="Result"/> is the new plan (or a rejection naming what cannot
/// be met); on rejection <see cref="BestPartial"/> keeps every subtask that can stay where it is
/// (−1 for those that cannot), so the service degrades explicitly instead of disappearing.
/// </summary>
public sealed record ReplacementResult(
    string PolicyName,
    PlacementResult Result,
    IReadOnlyList<Violation> ViolationsBefore,
    IReadOnlyList<SubtaskMove> Moves,
    double MigrationCost,
    IReadOnlyList<int>? BestPartial)
{
    /// <summary>Objective plus migration cost: what the re-placement minimises.</summary>
    public double TotalCost => Result is PlacementPlan plan ? plan.Objective.Total + MigrationCost : double.PositiveInfinity;
}

/// <summary>
/// Re-places an app whose conditions changed. The problem carries the new conditions; node usage in
/// it must not include this app's own current placement (that is <c>current</c>).
/// </summary>
public interface IReplacementPolicy
{
    string Name { get; }

    ReplacementResult Replace(PlacementProblem problem, IReadOnlyList<int> current);
}

/// <summary>
/// Greedy repair: keep every subtask that is still feasible where it is, move only the violators
/// (each to the node with the least objective increase plus migration cost). If that fails, also
/// free the violators' neighbours, then everything (still migration-aware) before giving up.
/// </summary>
public sealed class GreedyRepairPolicy(MigrationCostWeights? migration = null, GreedyOptions? options = null) : IReplacementPolicy
{
    public MigrationCostWeights Migration { get; } = migration ?? MigrationCostWeights.Default;

    public string Name => "greedy-repair";

    public ReplacementResult Replace(PlacementProblem problem, IReadOnlyList<int> current)
    {
        var checker = FeasibilityChecker.Default;
        var violations = checker.Validate(problem, current);
        var n = problem.Subtasks.Count;
        var policy = new MigrationAwareGreedy(current, Migration, options);
        if (violations.Count == 0)
            return Finish(problem, current, violations, PlanFactory.Create(Name, problem, current, policy.Options.Weights ?? ObjectiveWeights.Default), null);

        var mustMove = violations.Where(v => v.Subtask >= 0).Select(v => v.Subtask).ToHashSet();
        PlacementResult? result = null;
        IReadOnlyList<int>? bestPartial = null;
        for (var round = 0; round < 3 && result is not PlacementPlan; round++)
        {
            if (round == 1) mustMove.UnionWith(mustMove.SelectMany(k => Neighbours(problem, k)).ToArray());
            if (round == 2) mustMove.UnionWith(Enumerable.Range(0, n));
            var plan = KeepWhatStillFits(problem, current, mustMove);
            bestPartial ??= plan.ToArray();
            var order = GreedyPolicy.SubtaskOrder(problem).Where(k => !plan.IsPlaced(k)).ToArray();
            result = policy.PlaceRemaining(problem, plan, order);
        }
        var renamed = result switch
        {
            PlacementPlan p => p with { PolicyName = Name },
            PlacementRejection r => r with { PolicyName = Name },
            _ => result!,
        };
        return Finish(problem, current, violations, renamed, renamed is PlacementPlan ? null : bestPartial);
    }

    // Subtasks not forced to move stay put in plan order; any that no longer fit join the movers.
    private static PartialPlan KeepWhatStillFits(PlacementProblem problem, IReadOnlyList<int> current, HashSet<int> mustMove)
    {
        var plan = new PartialPlan(problem);
        foreach (var k in GreedyPolicy.SubtaskOrder(problem))
        {
            if (mustMove.Contains(k) || current[k] < 0 || current[k] >= problem.Nodes.Count) continue;
            if (FeasibilityChecker.Default.Check(problem, plan, k, current[k]) is null) plan.Assign(k, current[k]);
            else mustMove.Add(k);
        }
        return plan;
    }

    private static IEnumerable<int> Neighbours(PlacementProblem problem, int k)
    {
        foreach (var e in problem.EdgesOf[k])
        {
            var edge = problem.Edges[e];
            var other = edge.From == k ? edge.To : edge.From;
            if (other >= 0) yield return other;
        }
        var s = problem.Subtasks[k];
        if (s.ColocationGroup is { } c) foreach (var m in problem.ColocationMembers[c]) yield return m;
        if (s.AntiAffinityGroup is { } a) foreach (var m in problem.AntiAffinityMembers[a]) yield return m;
    }

    internal ReplacementResult Finish(PlacementProblem problem, IReadOnlyList<int> current, IReadOnlyList<Violation> before, PlacementResult result, IReadOnlyList<int>? bestPartial)
    {
        if (result is not PlacementPlan plan) return new ReplacementResult(result.PolicyName, result, before, [], 0, bestPartial);
        var moves = new List<SubtaskMove>();
        for (var k = 0; k < plan.Assignment.Count; k++)
            if (plan.Assignment[k] != current[k])
                moves.Add(new SubtaskMove(k, problem.Subtasks[k].Id, current[k], plan.Assignment[k],
                    current[k] < 0 ? Migration.PerMove : Migration.Cost(problem, k, current[k], plan.Assignment[k])));
        return new ReplacementResult(result.PolicyName, result, before, moves, moves.Sum(m => m.Cost), null);
    }

    /// <summary>Objective delta plus the price of moving there.</summary>
    private sealed class MigrationAwareGreedy(IReadOnlyList<int> current, MigrationCostWeights migration, GreedyOptions? options) : GreedyPolicy(options)
    {
        public override string Name => "greedy-repair";

        protected override double Score(GreedyContext context, int k, int v) =>
            context.Objective.Delta(context.Plan, k, v) + (current[k] < 0 ? 0 : migration.Cost(context.Problem, k, current[k], v));
    }
}

/// <summary>
/// Reference re-placement: CP-SAT over the whole app with the migration cost of each (subtask, node)
/// added to the objective, hinted with the greedy repair. Optimal when the solver proves it.
/// </summary>
public sealed class CpSatRepairPolicy(MigrationCostWeights? migration = null, CpSatOptions? options = null) : IReplacementPolicy
{
    private readonly GreedyRepairPolicy _greedy = new(migration, new GreedyOptions(Weights: options?.Weights));

    public string Name => "cp-sat-repair";

    public ReplacementResult Replace(PlacementProblem problem, IReadOnlyList<int> current)
    {
        var before = FeasibilityChecker.Default.Validate(problem, current);
        var greedy = _greedy.Replace(problem, current);
        var hint = (greedy.Result as PlacementPlan)?.Assignment ?? current.Select(v => v >= 0 && v < problem.Nodes.Count ? v : 0).ToArray();
        var solver = new CpSatPolicy(options);
        var result = solver.Solve(problem, (k, v) => current[k] < 0 || current[k] >= problem.Nodes.Count ? 0 : _greedy.Migration.Cost(problem, k, current[k], v), hint, Name);
        return _greedy.Finish(problem, current, before, result, result is PlacementPlan ? null : greedy.BestPartial);
    }
}
