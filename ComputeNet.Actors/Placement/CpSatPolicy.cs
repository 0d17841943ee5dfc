using Google.OrTools.Sat;

namespace ComputeNet.Actors.Placement;

/// <param name="TimeLimitSeconds">Wall-clock budget for the solver.</param>
/// <param name="Workers">CP-SAT search workers (the build machines have 2 cores).</param>
/// <param name="MaxCandidatesPerSubtask">Candidate nodes per subtask, nearest to the user first. When this prunes, the result is never reported as proved optimal.</param>
public sealed record CpSatOptions(
    double TimeLimitSeconds = 2.0,
    int Workers = 2,
    int MaxCandidatesPerSubtask = 64,
    ObjectiveWeights? Weights = null)
{
    public static readonly CpSatOptions Default = new();
}

/// <summary>
/// Exact reference (CP-SAT). One Boolean x[k,v] per subtask and candidate node.
/// Constraints are the checker's, encoded: unary ones (pinning, capability, reliability,
/// execution time, user-edge delay) filter candidates; capacity and link bandwidth are linear
/// sums; transfer delay between subtasks forbids node pairs; anti-affinity is at-most-one per node;
/// co-location equates the members' variables.
/// Objective: energy is exact (dynamic power is linear in x; idle power via an "opened" literal for
/// nodes empty before the plan). The balance terms are the library objective's L1 forms, also exact
/// up to integer scaling (utilisation in 1e-5 steps): |u_vd − ū_d| through AddAbsEquality, and the
/// per-node dimension range through max/min bound variables. So the solver's optimum is the
/// objective's optimum within about 1e-4 relative rounding. Nodes outside every candidate set add
/// a constant and are left out. The returned plan is re-scored with <see cref="PlacementObjective"/>
/// and re-validated by the checker.
/// </summary>
public sealed class CpSatPolicy(CpSatOptions? options = null) : IPlacementPolicy
{
    private const long UtilisationScale = 100_000;

    /// <summary>The explanation of a plan that is greedy-objective's, because the solver found none in time.</summary>
    public const string FallbackExplanation = "CP-SAT found no solution in time: greedy-objective's plan";

    public CpSatOptions Options { get; } = options ?? CpSatOptions.Default;

    public string Name => "cp-sat";

    public PlacementResult Place(PlacementProblem problem) => Solve(problem, extraCost: null, hint: null, Name);

    /// <summary>
    /// Solves with an optional extra per-(subtask, node) cost in objective units (used for the
    /// migration cost of re-placement) and an optional starting assignment as a hint.
    /// </summary>
    internal PlacementResult Solve(PlacementProblem problem, Func<int, int, double>? extraCost, IReadOnlyList<int>? hint, string name)
    {
        var weights = Options.Weights ?? ObjectiveWeights.Default;
        var objective = new PlacementObjective(problem, weights);
        var checker = FeasibilityChecker.Default;
        var n = problem.Subtasks.Count;
        var empty = new PartialPlan(problem);

        var greedy = new ObjectiveGreedyPolicy(new GreedyOptions(Weights: weights)).Place(problem);
        hint ??= (greedy as PlacementPlan)?.Assignment;

        // Candidates: nodes that pass every check that does not depend on other subtasks.
        var pruned = false;
        var candidates = new List<int>[n];
        for (var k = 0; k < n; k++)
        {
            candidates[k] = [];
            var why = ConstraintKind.Unplaced;
            foreach (var v in CandidateOrder(problem))
            {
                var broken = checker.Check(problem, empty, k, v);
                if (broken is null) candidates[k].Add(v);
                else if (why == ConstraintKind.Unplaced || broken > why) why = broken.Value;
            }
            if (candidates[k].Count > Options.MaxCandidatesPerSubtask)
            {
                var keep = candidates[k].Take(Options.MaxCandidatesPerSubtask).ToHashSet();
                if (hint is not null && hint[k] >= 0) keep.Add(hint[k]);
                candidates[k] = [.. candidates[k].Where(keep.Contains)];
                pruned = true;
            }
            if (candidates[k].Count == 0)
                return new PlacementRejection(name, why, problem.Subtasks[k].Id, $"no node satisfies {why} for subtask {problem.Subtasks[k].Id}");
        }
        foreach (var (_, members) in problem.ColocationMembers)
        {
            var common = candidates[members[0]].ToHashSet();
            foreach (var m in members) common.IntersectWith(candidates[m]);
            foreach (var m in members) candidates[m] = [.. candidates[m].Where(common.Contains)];
            if (common.Count == 0)
                return new PlacementRejection(name, ConstraintKind.Colocation, problem.Subtasks[members[0]].Id, "no node can host the whole co-location group");
        }

        var model = new CpModel();
        var x = new Dictionary<int, BoolVar>[n];
        for (var k = 0; k < n; k++)
        {
            x[k] = new();
            foreach (var v in candidates[k]) x[k][v] = model.NewBoolVar($"x_{k}_{v}");
            model.AddExactlyOne(x[k].Values);
        }
        var nodesInPlay = candidates.SelectMany(c => c).Distinct().OrderBy(v => v).ToArray();
        var onNode = nodesInPlay.ToDictionary(v => v, v => Enumerable.Range(0, n).Where(k => x[k].ContainsKey(v)).ToArray());

        // (3) capacity, in micro-units.
        foreach (var v in nodesInPlay)
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                var total = onNode[v].Sum(k => problem.Subtasks[k].Demand[d]);
                if (total <= problem.Free[v][d] + 1e-9) continue;
                var sum = LinearExpr.NewBuilder();
                foreach (var k in onNode[v]) sum.AddTerm(x[k][v], Micro(problem.Subtasks[k].Demand[d]));
                model.Add(sum <= Micro(problem.Free[v][d]) + 1);
            }

        foreach (var (_, members) in problem.AntiAffinityMembers)
            foreach (var v in nodesInPlay)
            {
                var here = members.Where(k => x[k].ContainsKey(v)).Select(k => (ILiteral)x[k][v]).ToArray();
                if (here.Length > 1) model.AddAtMostOne(here);
            }
        foreach (var (_, members) in problem.ColocationMembers)
            for (var i = 1; i < members.Length; i++)
                foreach (var v in candidates[members[0]])
                    model.Add(x[members[i]][v] == x[members[0]][v]);

        // (5) transfer delay and bandwidth floors between subtasks: forbid bad node pairs.
        var linkTerms = new Dictionary<int, List<(ILiteral Literal, double RateMbps)>>();
        var linkPotential = new Dictionary<int, double>();
        for (var e = 0; e < problem.Edges.Count; e++)
        {
            var edge = problem.Edges[e];
            if (edge.TouchesUser)
            {
                var k = edge.From == SubtaskEdge.User ? edge.To : edge.From;
                if (k < 0 || edge.DataRateMbps <= 0) continue;
                foreach (var v in candidates[k])
                    foreach (var u in problem.UserAccessNodes)
                        foreach (var link in problem.Network.PathLinks(u, v))
                            AddLinkTerm(linkTerms, linkPotential, link, x[k][v], edge.DataRateMbps);
                continue;
            }
            if (edge.From == edge.To) continue;
            foreach (var a in candidates[edge.From])
                foreach (var b in candidates[edge.To])
                {
                    if (a == b) continue;
                    var bad = FeasibilityChecker.TransferDelayMs(problem, edge, a, b) > edge.TransferDelayThresholdMs + 1e-5
                              || (edge.BandwidthFloorMbps > 0 && problem.Network.BottleneckMbps(a, b) < edge.BandwidthFloorMbps);
                    if (bad)
                    {
                        model.AddBoolOr([x[edge.From][a].Not(), x[edge.To][b].Not()]);
                        continue;
                    }
                    if (edge.DataRateMbps <= 0) continue;
                    var links = problem.Network.PathLinks(a, b);
                    if (links.Length == 0) continue;
                    var both = model.NewBoolVar($"y_{e}_{a}_{b}");
                    // Only the upper bound on link load matters, so "both ⇒ y" is enough.
                    model.AddBoolOr([x[edge.From][a].Not(), x[edge.To][b].Not(), both]);
                    foreach (var link in links) AddLinkTerm(linkTerms, linkPotential, link, both, edge.DataRateMbps);
                }
        }
        foreach (var (link, terms) in linkTerms)
        {
            var available = problem.Network.AvailableMbps(link);
            if (linkPotential[link] <= available + 1e-9) continue;
            var sum = LinearExpr.NewBuilder();
            foreach (var (literal, rate) in terms) sum.AddTerm(literal, Micro(rate));
            model.Add(sum <= Micro(available));
        }

        // Objective, scaled to integers: every unit weight is multiplied by `scale`.
        var nodeCount = problem.Nodes.Count;
        var dimsInUse = Math.Max(1, objective.DimensionsInUse);
        var unitWeights = new List<double>();
        for (var d = 0; d < Resources.Dimensions; d++)
            if (objective.NodesWithDimension(d) > 0)
                unitWeights.Add(weights.NodeImbalance / dimsInUse / objective.NodesWithDimension(d) / UtilisationScale);
        unitWeights.Add(weights.DimensionImbalance / nodeCount / UtilisationScale);
        var smallest = unitWeights.Where(w => w > 0).DefaultIfEmpty(1e-6).Min();
        var scale = Math.Min(1000.0 / smallest, 1e12);
        var goal = LinearExpr.NewBuilder();
        foreach (var v in nodesInPlay)
        {
            var node = problem.Nodes[v];
            if (objective.IsEmptyBeforePlan(v) && node.IdleW > 0)
            {
                var opened = model.NewBoolVar($"open_{v}");
                foreach (var k in onNode[v]) model.AddImplication(x[k][v], opened);
                goal.AddTerm(opened, Scaled(weights.EnergyPerW * node.IdleW, scale));
            }
            foreach (var k in onNode[v])
            {
                var dynamicW = objective.EnergyW(v, Resources.Zero, problem.Subtasks[k].Demand) -
                               (objective.IsEmptyBeforePlan(v) ? node.IdleW : 0);
                var extra = extraCost?.Invoke(k, v) ?? 0;
                goal.AddTerm(x[k][v], Scaled(weights.EnergyPerW * dynamicW + extra, scale));
            }
            var utilisation = new List<LinearExpr>();
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                if (node.Capacity[d] <= 0) continue;
                var expr = LinearExpr.NewBuilder();
                expr.Add((long)Math.Round(objective.Utilisation(v, d, Resources.Zero) * UtilisationScale));
                foreach (var k in onNode[v])
                    expr.AddTerm(x[k][v], (long)Math.Round(problem.Subtasks[k].Demand[d] / node.Capacity[d] * UtilisationScale));
                utilisation.Add(expr);
                var deviation = model.NewIntVar(0, 4 * UtilisationScale, $"dev_{v}_{d}");
                var fromFleet = LinearExpr.NewBuilder().Add(expr).Add(-(long)Math.Round(objective.FleetUtilisation(d) * UtilisationScale));
                model.AddAbsEquality(deviation, fromFleet);
                goal.AddTerm(deviation, Scaled(weights.NodeImbalance / dimsInUse / objective.NodesWithDimension(d) / UtilisationScale, scale));
            }
            if (utilisation.Count > 1 && weights.DimensionImbalance > 0)
            {
                var highest = model.NewIntVar(-2 * UtilisationScale, 2 * UtilisationScale, $"max_{v}");
                var lowest = model.NewIntVar(-2 * UtilisationScale, 2 * UtilisationScale, $"min_{v}");
                foreach (var u in utilisation)
                {
                    model.Add(highest >= u);
                    model.Add(lowest <= u);
                }
                var unit = Scaled(weights.DimensionImbalance / nodeCount / UtilisationScale, scale);
                goal.AddTerm(highest, unit);
                goal.AddTerm(lowest, -unit);
            }
        }
        model.Minimize(goal);

        if (hint is not null)
            for (var k = 0; k < n; k++)
                foreach (var (v, literal) in x[k])
                    model.AddHint(literal, hint[k] == v ? 1 : 0);

        var solver = new CpSolver
        {
            StringParameters = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"max_time_in_seconds:{Options.TimeLimitSeconds} num_workers:{Math.Max(1, Options.Workers)} random_seed:7"),
        };
        var status = solver.Solve(model);
        if (status is CpSolverStatus.Optimal or CpSolverStatus.Feasible)
        {
            var assignment = new int[n];
            for (var k = 0; k < n; k++) assignment[k] = x[k].First(p => solver.BooleanValue(p.Value)).Key;
            var plan = PlanFactory.Create(name, problem, assignment, weights)
                with { ProvedOptimal = status == CpSolverStatus.Optimal && !pruned };
            return PlanFactory.Guard(problem, plan);
        }
        // No solution in time (or a model stricter than the checker through integer rounding): a
        // checked greedy plan is still a valid answer, just not a proved optimum.
        if (greedy is PlacementPlan fallback)
            return fallback with { PolicyName = name, ProvedOptimal = false, Explanation = FallbackExplanation };
        if (greedy is PlacementRejection rejected) return rejected with { PolicyName = name };
        return new PlacementRejection(name, ConstraintKind.Capacity, problem.Subtasks[0].Id,
            $"CP-SAT status {status}: no combination of candidate nodes meets capacity, delay and bandwidth together");
    }

    // Nearest to the user first, so pruning keeps the nodes that matter for latency.
    private static IEnumerable<int> CandidateOrder(PlacementProblem problem) =>
        problem.UserAccessNodes.Count == 0
            ? Enumerable.Range(0, problem.Nodes.Count)
            : Enumerable.Range(0, problem.Nodes.Count).OrderBy(v => problem.Network.LatencyMs(problem.UserAccessNodes[0], v)).ThenBy(v => v);

    private static void AddLinkTerm(Dictionary<int, List<(ILiteral, double)>> terms, Dictionary<int, double> potential, int link, ILiteral literal, double rate)
    {
        if (!terms.TryGetValue(link, out var list)) terms[link] = list = [];
        list.Add((literal, rate));
        potential[link] = potential.GetValueOrDefault(link) + rate;
    }

    private static long Micro(double value) => (long)Math.Round(value * 1_000_000);

    private static long Scaled(double weight, double scale) => (long)Math.Round(weight * scale);
}
