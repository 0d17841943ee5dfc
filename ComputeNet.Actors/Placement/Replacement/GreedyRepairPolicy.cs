namespace ComputeNet.Actors.Placement;

/// <summary>
/// Greedy repair (运行调整): keep every subtask that is still feasible where it is, move only the
/// violators and the subtasks the request names (each to the node with the least objective increase
/// plus migration cost, so staying wins unless moving pays). If that fails, also free the movers'
/// neighbours, then everything (still migration-aware), and last place the app afresh on the
/// objective alone (the pull towards the old nodes can exhaust the search where a fresh placement
/// fits) before degrading explicitly.
/// </summary>
public sealed class GreedyRepairPolicy(MigrationCostWeights? migration = null, GreedyOptions? options = null) : IReplacementPolicy
{
    private const int BestEffortCandidates = 64;

    private static readonly MigrationCostWeights NoMigrationCost = new(0, 0, 0);

    public MigrationCostWeights Migration { get; } = migration ?? MigrationCostWeights.Default;

    public ObjectiveWeights Weights { get; } = options?.Weights ?? ObjectiveWeights.Default;

    public string Name => "greedy-repair";

    public ReplacementResult Replace(PlacementProblem problem, IReadOnlyList<int> current, ReplacementRequest? request = null)
    {
        request ??= ReplacementRequest.None;
        var violations = FeasibilityChecker.Default.Validate(problem, current);
        var n = problem.Subtasks.Count;
        var mustMove = violations.Where(v => v.Subtask >= 0).Select(v => v.Subtask).ToHashSet();
        if (request.MustMove is { } forced) mustMove.UnionWith(forced);
        var reconsider = request.Reconsider ?? new HashSet<int>();
        if (violations.Count == 0 && mustMove.Count == 0 && reconsider.Count == 0)
            return Finish(problem, current, violations, PlanFactory.Create(Name, problem, current, Weights), null);

        var policy = new MigrationAwareGreedy(current, Migration, request.ForbiddenNodes, options);
        var afresh = new MigrationAwareGreedy(current, NoMigrationCost, request.ForbiddenNodes, options);
        PlacementResult? result = null;
        PartialPlan? firstKept = null;
        PlacementRejection? firstFailure = null;
        var freed = new HashSet<int>(mustMove);
        freed.UnionWith(reconsider);
        for (var round = 0; round < 4 && result is not PlacementPlan; round++)
        {
            if (round == 1) freed.UnionWith(mustMove.SelectMany(k => Neighbours(problem, k)).ToArray());
            if (round == 2) freed.UnionWith(Enumerable.Range(0, n));
            var plan = KeepWhatStillFits(problem, current, freed, mustMove);
            firstKept ??= new PartialPlan(problem, plan.Assignment);
            var order = GreedyPolicy.SubtaskOrder(problem).Where(k => !plan.IsPlaced(k)).ToArray();
            result = (round == 3 ? afresh : policy).PlaceRemaining(problem, plan, order);
            firstFailure ??= result as PlacementRejection;
        }
        // When every round fails, the first names the constraint that keeps the forced movers out.
        if (result is not PlacementPlan && firstFailure is not null) result = firstFailure;
        var renamed = result switch
        {
            PlacementPlan p => p with { PolicyName = Name },
            PlacementRejection r => r with { PolicyName = Name },
            _ => result!,
        };
        return Finish(problem, current, violations, renamed, renamed is PlacementPlan ? null : BestEffort(problem, current, firstKept!, policy));
    }

    // Subtasks not freed stay put in plan order; any that no longer fit join the movers.
    private static PartialPlan KeepWhatStillFits(PlacementProblem problem, IReadOnlyList<int> current, HashSet<int> freed, HashSet<int> mustMove)
    {
        var plan = new PartialPlan(problem);
        foreach (var k in GreedyPolicy.SubtaskOrder(problem))
        {
            if (freed.Contains(k) || current[k] < 0 || current[k] >= problem.Nodes.Count) continue;
            if (FeasibilityChecker.Default.Check(problem, plan, k, current[k]) is null) plan.Assign(k, current[k]);
            else mustMove.Add(k);
        }
        return plan;
    }

    // The best partial service: what still fits stays, every other subtask goes where it fits on its
    // own (nearest to where it was), the rest stays unserved (−1).
    private int[] BestEffort(PlacementProblem problem, IReadOnlyList<int> current, PartialPlan kept, MigrationAwareGreedy policy)
    {
        var objective = new PlacementObjective(problem, Weights);
        foreach (var k in GreedyPolicy.SubtaskOrder(problem))
        {
            if (kept.IsPlaced(k)) continue;
            var anchor = current[k] >= 0 && current[k] < problem.Nodes.Count ? current[k] : problem.UserAccessNodes.FirstOrDefault();
            var best = FeasibilityChecker.Default
                .FeasibleNodes(problem, kept, k, problem.Network.NearestNodes(anchor, BestEffortCandidates).Where(v => policy.Permits(k, v)))
                .Select(v => (Node: v, Score: objective.Delta(kept, k, v) + (current[k] < 0 ? 0 : Migration.Cost(problem, k, current[k], v))))
                .OrderBy(c => c.Score).ThenBy(c => c.Node)
                .FirstOrDefault((Node: -1, Score: 0));
            if (best.Node >= 0) kept.Assign(k, best.Node);
        }
        return kept.ToArray();
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

    /// <summary>The result with its moves (in make-before-break order) and their migration cost.</summary>
    internal ReplacementResult Finish(PlacementProblem problem, IReadOnlyList<int> current, IReadOnlyList<Violation> before, PlacementResult result, IReadOnlyList<int>? bestPartial)
    {
        if (result is not PlacementPlan plan) return new ReplacementResult(result.PolicyName, result, before, [], 0, bestPartial);
        var moves = new List<SubtaskMove>();
        for (var k = 0; k < plan.Assignment.Count; k++)
            if (plan.Assignment[k] != current[k])
                moves.Add(new SubtaskMove(k, problem.Subtasks[k].Id, current[k], plan.Assignment[k], Migration.Cost(problem, k, current[k], plan.Assignment[k]))
                {
                    FromNodeId = current[k] >= 0 && current[k] < problem.Nodes.Count ? problem.Nodes[current[k]].Id : null,
                    ToNodeId = problem.Nodes[plan.Assignment[k]].Id,
                });
        var ordered = MakeBeforeBreak.Order(problem, current, moves);
        return new ReplacementResult(result.PolicyName, result, before, ordered, ordered.Sum(m => m.Cost), null);
    }

    /// <summary>Objective delta plus the price of moving there; forbidden targets vetoed.</summary>
    private sealed class MigrationAwareGreedy(
        IReadOnlyList<int> current, MigrationCostWeights migration, IReadOnlyDictionary<int, IReadOnlySet<int>>? forbidden, GreedyOptions? options)
        : GreedyPolicy(options)
    {
        public override string Name => "greedy-repair";

        public bool Permits(int k, int v) => Allows(k, v);

        protected override bool Allows(int k, int v) =>
            v == current[k] || forbidden is null || !forbidden.TryGetValue(k, out var nodes) || !nodes.Contains(v);

        protected override double Score(GreedyContext context, int k, int v) =>
            context.Objective.Delta(context.Plan, k, v) + (current[k] < 0 ? 0 : migration.Cost(context.Problem, k, current[k], v));
    }
}
