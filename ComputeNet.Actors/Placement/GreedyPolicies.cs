using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement;

/// <summary>Knobs shared by the greedy policies.</summary>
/// <param name="CandidateLimit">Nodes considered per subtask: the nearest by latency to its placed neighbours or the user. Only when none of them is feasible for a node-local reason does the scan widen (16× further, or to every node of a pinned tier/region).</param>
/// <param name="AlternativesPerSubtask">Nodes tried per subtask before backtracking further up.</param>
/// <param name="BacktrackBudget">Alternative tries allowed per decision, so the search stays bounded.</param>
/// <param name="RunnersUp">Runner-up nodes recorded per subtask for the explanation.</param>
/// <param name="CheckBudgetFactor">Feasibility checks allowed per decision: factor × subtasks × CandidateLimit, plus one widened scan. Bounds the latency of hopeless searches (4: at 10,000 nodes greedy-objective accepted 0.625 of 50-subtask apps for a 9.8 ms p99, against 0.575 and 5.9 ms with 2).</param>
public sealed record GreedyOptions(
    int CandidateLimit = 64,
    int AlternativesPerSubtask = 3,
    int BacktrackBudget = 32,
    int RunnersUp = 3,
    ObjectiveWeights? Weights = null,
    int CheckBudgetFactor = 4)
{
    public static readonly GreedyOptions Default = new();
}

/// <summary>
/// The greedy skeleton every heuristic shares: subtasks hardest first (or in the grading order),
/// candidates pruned by latency, feasibility from <see cref="FeasibilityChecker"/> only, and a
/// bounded depth-first backtracking so that easily feasible instances are not rejected.
/// Subclasses only say how they score a feasible candidate (lower is better).
/// </summary>
public abstract class GreedyPolicy(GreedyOptions? options) : IPlacementPolicy
{
    public GreedyOptions Options { get; } = options ?? GreedyOptions.Default;

    public abstract string Name { get; }

    /// <summary>
    /// True when the score ignores the partial plan (an order), so candidates can be sorted first and
    /// checked only until enough feasible ones are found.
    /// </summary>
    protected virtual bool ScoreIsStaticOrder => false;

    protected abstract double Score(GreedyContext context, int k, int v);

    /// <summary>
    /// Scores the feasible ones of subtask k's candidates at once (<paramref name="feasible"/>[i] for
    /// candidates[i]; <paramref name="widened"/> when these come from the widened scan). One by one by
    /// default; the learned policy scores them together, from the mask the search has already checked.
    /// </summary>
    protected virtual void ScoreFeasible(GreedyContext context, int k, IReadOnlyList<int> candidates, bool[] feasible, bool widened, double[] scores)
    {
        for (var i = 0; i < candidates.Count; i++)
            if (feasible[i]) scores[i] = Score(context, k, candidates[i]);
    }

    /// <summary>A policy-specific veto checked before feasibility (re-placement forbids ping-pong targets here).</summary>
    protected virtual bool Allows(int k, int v) => true;

    public PlacementResult Place(PlacementProblem problem) =>
        PlaceRemaining(problem, new PartialPlan(problem), SubtaskOrder(problem));

    /// <summary>
    /// Completes a partial plan: places the subtasks in <paramref name="order"/> (in that order)
    /// around those already placed. Re-placement uses this to move only what must move.
    /// </summary>
    public PlacementResult PlaceRemaining(PlacementProblem problem, PartialPlan plan, IReadOnlyList<int> order)
    {
        var context = new GreedyContext(problem, plan, Options.Weights ?? ObjectiveWeights.Default);
        var search = new Search(this, context, order);
        if (!search.Run())
            return new PlacementRejection(Name, search.FailureKind, problem.Subtasks[search.FailedSubtask].Id,
                $"no node satisfies {search.FailureKind} for subtask {problem.Subtasks[search.FailedSubtask].Id}" +
                (search.Backtracks > 0 ? $" (after {search.Backtracks} backtracks)" : "") +
                (search.BudgetExhausted ? " (search budget exhausted)" : ""));
        var placed = PlanFactory.Create(Name, problem, context.Plan.ToArray(), context.Objective.Weights, search.RunnersUp)
            with { Backtracks = search.Backtracks };
        return PlanFactory.Guard(problem, placed);
    }

    /// <summary>Subtask order: the grading order if given, else most constrained first, growing out from the user.</summary>
    public static int[] SubtaskOrder(PlacementProblem problem)
    {
        if (problem.PlacementOrder is { } given) return [.. given];
        var n = problem.Subtasks.Count;
        var done = new bool[n];
        var order = new List<int>(n);
        int PinClass(int k)
        {
            var s = problem.Subtasks[k];
            if (s.Pinning.NodeId is not null || s.Pinning.AtUserAccessNode) return 0;
            if (!s.Pinning.IsNone || s.ColocationGroup is not null || s.AntiAffinityGroup is not null) return 1;
            return 2;
        }
        bool Connected(int k) => problem.EdgesOf[k].Any(e =>
        {
            var edge = problem.Edges[e];
            var other = edge.From == k ? edge.To : edge.From;
            return other == SubtaskEdge.User || (other >= 0 && done[other]);
        });
        for (var step = 0; step < n; step++)
        {
            var best = -1;
            (int, int, double) bestKey = default;
            for (var k = 0; k < n; k++)
            {
                if (done[k]) continue;
                var key = (PinClass(k), Connected(k) ? 0 : 1, -problem.Subtasks[k].Demand.CpuCores);
                if (best < 0 || key.CompareTo(bestKey) < 0) (best, bestKey) = (k, key);
            }
            done[best] = true;
            order.Add(best);
        }
        return [.. order];
    }

    private sealed class Search(GreedyPolicy policy, GreedyContext context, IReadOnlyList<int> order)
    {
        private readonly IReadOnlyList<int> _order = order;
        private int _budget = policy.Options.BacktrackBudget;
        private int _deepest = -1;
        private bool _sawLocalFailure;
        private long _checksLeft = (long)policy.Options.CheckBudgetFactor * Math.Max(1, order.Count) * policy.Options.CandidateLimit
                                   + (long)policy.Options.CandidateLimit * GreedyContext.WideningFactor;

        public bool BudgetExhausted => _checksLeft <= 0;

        public IReadOnlyList<CandidateScore>[] RunnersUp { get; } =
            Enumerable.Range(0, context.Problem.Subtasks.Count).Select(_ => (IReadOnlyList<CandidateScore>)[]).ToArray();

        public int Backtracks { get; private set; }

        public ConstraintKind FailureKind { get; private set; } = ConstraintKind.Unplaced;

        public int FailedSubtask { get; private set; }

        public bool Run()
        {
            for (var level = 0; level < _order.Count; level++) _levelOf[_order[level]] = level;
            return Descend(0) == Success;
        }

        private const int Success = int.MaxValue;

        private readonly Dictionary<int, int> _levelOf = new();

        // Depth-first with conflict-directed backjumping: returns Success, or the level to resume at.
        // A subtask that fails on a pairwise constraint (delay, bandwidth, groups) jumps straight back
        // to the latest subtask it is tied to, instead of re-trying unrelated subtasks in between.
        private int Descend(int level)
        {
            if (level == _order.Count) return Success;
            var k = _order[level];
            var ranked = Rank(k, out var why);
            if (BudgetExhausted)
            {
                if (_deepest < 0) (_deepest, FailureKind, FailedSubtask) = (level, why, k);
                return -1;
            }
            if (ranked.Count == 0)
            {
                if (level >= _deepest) (_deepest, FailureKind, FailedSubtask) = (level, why, k);
                return ConflictLevel(k, level, why);
            }
            var tries = Math.Min(policy.Options.AlternativesPerSubtask, ranked.Count);
            for (var i = 0; i < tries; i++)
            {
                if (i > 0)
                {
                    if (_budget <= 0) return -1;
                    _budget--;
                    Backtracks++;
                }
                RunnersUp[k] = ranked.Where((_, j) => j != i).Take(policy.Options.RunnersUp).ToArray();
                context.Plan.Assign(k, ranked[i].Node);
                var outcome = Descend(level + 1);
                if (outcome == Success) return Success;
                context.Plan.Unassign(k);
                if (outcome < level) return outcome;
            }
            return level - 1;
        }

        private int ConflictLevel(int k, int level, ConstraintKind why)
        {
            if (why is not (ConstraintKind.TransferDelay or ConstraintKind.LinkBandwidth or ConstraintKind.AntiAffinity or ConstraintKind.Colocation))
                return level - 1;
            var problem = context.Problem;
            var latest = -1;
            void Consider(int other)
            {
                if (other >= 0 && other != k && context.Plan.IsPlaced(other) && _levelOf.TryGetValue(other, out var l) && l < level)
                    latest = Math.Max(latest, l);
            }
            foreach (var e in problem.EdgesOf[k]) Consider(problem.Edges[e].From == k ? problem.Edges[e].To : problem.Edges[e].From);
            var s = problem.Subtasks[k];
            if (s.ColocationGroup is { } c) foreach (var m in problem.ColocationMembers[c]) Consider(m);
            if (s.AntiAffinityGroup is { } a) foreach (var m in problem.AntiAffinityMembers[a]) Consider(m);
            // Tied only to the user (or to subtasks placed before this search): the culprit is
            // capacity taken nearby, so fall back to chronological backtracking.
            return latest >= 0 ? latest : level - 1;
        }

        private List<CandidateScore> Rank(int k, out ConstraintKind why)
        {
            var wanted = policy.Options.AlternativesPerSubtask + policy.Options.RunnersUp;
            why = ConstraintKind.Unplaced;
            _sawLocalFailure = false;
            var ranked = Rank(k, context.Candidates(k, policy.Options.CandidateLimit, wide: false), widened: false, wanted, ref why);
            // Farther nodes rarely fix a delay or bandwidth failure among the nearest ones, so only a
            // node-local failure (pinning, capability, reliability, speed, capacity) widens the scan.
            if (ranked.Count == 0 && _sawLocalFailure && !context.CandidatesAreWhole(k, policy.Options.CandidateLimit))
                ranked = Rank(k, context.Candidates(k, policy.Options.CandidateLimit, wide: true), widened: true, wanted, ref why);
            return ranked;
        }

        private List<CandidateScore> Rank(int k, IReadOnlyList<int> candidates, bool widened, int wanted, ref ConstraintKind why)
        {
            var problem = context.Problem;
            var result = new List<CandidateScore>();
            if (policy.ScoreIsStaticOrder)
            {
                var scored = candidates.Select(v => (v, score: policy.Score(context, k, v))).OrderBy(p => p.score).ThenBy(p => p.v);
                foreach (var (v, score) in scored)
                {
                    if (!Feasible(k, v, ref why)) continue;
                    result.Add(new CandidateScore(v, problem.Nodes[v].Id, score));
                    if (result.Count >= wanted) break;
                }
                return result;
            }
            var feasible = new bool[candidates.Count];
            var anyFeasible = false;
            for (var i = 0; i < candidates.Count; i++) anyFeasible |= feasible[i] = Feasible(k, candidates[i], ref why);
            // An exhausted budget ends the search whatever the scores.
            if (!anyFeasible || BudgetExhausted) return result;
            var scores = new double[candidates.Count];
            policy.ScoreFeasible(context, k, candidates, feasible, widened, scores);
            for (var i = 0; i < candidates.Count; i++)
                if (feasible[i]) result.Add(new CandidateScore(candidates[i], problem.Nodes[candidates[i]].Id, scores[i]));
            result.Sort((a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score) : a.Node.CompareTo(b.Node));
            return result;
        }

        private bool Feasible(int k, int v, ref ConstraintKind why)
        {
            if (--_checksLeft <= 0) return false;
            if (!policy.Allows(k, v)) return false;
            var broken = FeasibilityChecker.Default.Check(context.Problem, context.Plan, k, v);
            if (broken is null) return true;
            if (broken.Value <= ConstraintKind.Capacity) _sawLocalFailure = true;
            // The latest constraint in check order is the one the best candidate got stuck on.
            if (why == ConstraintKind.Unplaced || broken.Value > why) why = broken.Value;
            return false;
        }
    }
}

/// <summary>What a greedy policy's score may look at: the problem, the partial plan, the objective.</summary>
public sealed class GreedyContext
{
    internal GreedyContext(PlacementProblem problem, PartialPlan plan, ObjectiveWeights weights)
    {
        Problem = problem;
        Plan = plan;
        Objective = new PlacementObjective(problem, weights);
    }

    public PlacementProblem Problem { get; }

    public PartialPlan Plan { get; }

    public PlacementObjective Objective { get; }

    /// <summary>The learned policy's per-decision cache of what the partial plan does not change.</summary>
    internal Learning.CandidateGraph.DecisionCache GraphCache => _graphCache ??= new();

    private Learning.CandidateGraph.DecisionCache? _graphCache;

    /// <summary>Sum of path latencies from node v to the placed neighbours of k (and to the user for user edges).</summary>
    public double NeighbourLatencyMs(int k, int v)
    {
        var sum = 0.0;
        foreach (var e in Problem.EdgesOf[k])
        {
            var edge = Problem.Edges[e];
            var other = edge.From == k ? edge.To : edge.From;
            if (other == SubtaskEdge.User)
                foreach (var u in Problem.UserAccessNodes) sum += Problem.Network.LatencyMs(u, v);
            else if (other >= 0 && Plan.NodeOf(other) >= 0) sum += Problem.Network.LatencyMs(Plan.NodeOf(other), v);
        }
        return sum;
    }

    /// <summary>Latency from the user's nearest access node to v.</summary>
    public double UserLatencyMs(int v) =>
        Problem.UserAccessNodes.Count == 0 ? 0 : Problem.UserAccessNodes.Min(u => Problem.Network.LatencyMs(u, v));

    internal bool CandidatesAreWhole(int k, int limit) =>
        Problem.Nodes.Count <= limit || NarrowPinnedCandidates(k) is not null;

    /// <summary>How much further than the candidate limit a widened scan reaches on big fleets.</summary>
    internal const int WideningFactor = 16;

    private readonly Dictionary<(NodeTier?, string?), int[]> _pinnedSets = new();

    internal IReadOnlyList<int> Candidates(int k, int limit, bool wide)
    {
        if (NarrowPinnedCandidates(k) is { } pinned) return pinned;
        var nodeCount = Problem.Nodes.Count;
        var pinning = Problem.SubtaskArray[k].Pinning;
        if ((wide || nodeCount <= limit) && (pinning.Tier is not null || pinning.Region is not null))
            return PinnedSet(pinning.Tier, pinning.Region);
        if (nodeCount <= limit || (wide && nodeCount <= limit * WideningFactor)) return Enumerable.Range(0, nodeCount).ToArray();
        return Problem.Network.NearestNodes(Anchor(k), wide ? limit * WideningFactor : limit);
    }

    // Every node of a pinned tier / region: few (the clouds) and worth checking all of.
    private int[] PinnedSet(NodeTier? tier, string? region)
    {
        if (_pinnedSets.TryGetValue((tier, region), out var set)) return set;
        var nodes = Problem.NodeArray;
        var list = new List<int>();
        for (var v = 0; v < nodes.Length; v++)
            if ((tier is null || nodes[v].Tier == tier) && (region is null || nodes[v].Region == region)) list.Add(v);
        return _pinnedSets[(tier, region)] = [.. list];
    }

    // Pinning to one node, the user's node, or a placed co-location partner leaves nothing to search.
    private IReadOnlyList<int>? NarrowPinnedCandidates(int k)
    {
        var subtask = Problem.Subtasks[k];
        if (subtask.Pinning.NodeId is { } id)
            return Problem.NodeIndexById.TryGetValue(id, out var v) ? [v] : [];
        if (subtask.Pinning.AtUserAccessNode) return Problem.UserAccessNodes;
        if (subtask.ColocationGroup is { } group)
            foreach (var other in Problem.ColocationMembers[group])
                if (other != k && Plan.NodeOf(other) >= 0) return [Plan.NodeOf(other)];
        return null;
    }

    // Search outwards from where the subtask's data comes from: a placed neighbour, else the user.
    private int Anchor(int k)
    {
        foreach (var e in Problem.EdgesOf[k])
        {
            var edge = Problem.Edges[e];
            var other = edge.From == k ? edge.To : edge.From;
            if (other >= 0 && Plan.NodeOf(other) >= 0) return Plan.NodeOf(other);
        }
        return Problem.UserAccessNodes.Count > 0 ? Problem.UserAccessNodes[0] : 0;
    }
}

/// <summary>First fit: the lowest-numbered feasible node.</summary>
public sealed class FirstFitPolicy(GreedyOptions? options = null) : GreedyPolicy(options)
{
    public override string Name => "first-fit";

    protected override bool ScoreIsStaticOrder => true;

    protected override double Score(GreedyContext context, int k, int v) => v;
}

/// <summary>Best fit: the feasible node left with the least free capacity (mean free fraction after placement).</summary>
public sealed class BestFitPolicy(GreedyOptions? options = null) : GreedyPolicy(options)
{
    public override string Name => "best-fit";

    protected override double Score(GreedyContext context, int k, int v)
    {
        var after = context.Plan.AddedLoad(v) + context.Problem.Subtasks[k].Demand;
        var free = context.Problem.Free[v];
        var capacity = context.Problem.Nodes[v].Capacity;
        double sum = 0;
        var dims = 0;
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            if (capacity[d] <= 0) continue;
            sum += (free[d] - after[d]) / capacity[d];
            dims++;
        }
        return dims == 0 ? 0 : sum / dims;
    }
}

/// <summary>
/// Kubernetes-style scoring: LeastAllocated + BalancedAllocation + a network-latency score in the
/// spirit of scheduler-plugins' NetworkAware, each on 0..100, averaged; negated so lower is better.
/// </summary>
public sealed class KubernetesScorerPolicy(GreedyOptions? options = null, double referenceLatencyMs = 50) : GreedyPolicy(options)
{
    public override string Name => "kubernetes";

    protected override double Score(GreedyContext context, int k, int v)
    {
        var after = context.Plan.AddedLoad(v) + context.Problem.Subtasks[k].Demand;
        var capacity = context.Problem.Nodes[v].Capacity;
        var free = context.Problem.Free[v];
        Span<double> utilisation = stackalloc double[Resources.Dimensions];
        var dims = 0;
        double leastAllocated = 0;
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            if (capacity[d] <= 0) continue;
            var u = (capacity[d] - free[d] + after[d]) / capacity[d];
            utilisation[dims++] = u;
            leastAllocated += (1 - u) * 100;
        }
        leastAllocated = dims == 0 ? 0 : leastAllocated / dims;
        double mean = 0, variance = 0;
        for (var i = 0; i < dims; i++) mean += utilisation[i] / dims;
        for (var i = 0; i < dims; i++) variance += (utilisation[i] - mean) * (utilisation[i] - mean) / dims;
        var balanced = (1 - Math.Sqrt(variance)) * 100;
        var network = 100 * (1 - Math.Min(1, context.NeighbourLatencyMs(k, v) / referenceLatencyMs));
        return -(leastAllocated + balanced + network) / 3;
    }
}

/// <summary>
/// Edgewards (iFogSim): start at the user's end of the hierarchy and move up a tier only when the
/// lower one has no feasible node; within a tier, nearest to the user first.
/// </summary>
public sealed class EdgewardsPolicy(GreedyOptions? options = null) : GreedyPolicy(options)
{
    public override string Name => "edgewards";

    protected override bool ScoreIsStaticOrder => true;

    protected override double Score(GreedyContext context, int k, int v) =>
        (int)context.Problem.Nodes[v].Tier * 1e6 + context.UserLatencyMs(v);
}

/// <summary>Greedy on the objective itself: each subtask goes where the weighted objective grows least.</summary>
public sealed class ObjectiveGreedyPolicy(GreedyOptions? options = null) : GreedyPolicy(options)
{
    public override string Name => "greedy-objective";

    protected override double Score(GreedyContext context, int k, int v) => context.Objective.Delta(context.Plan, k, v);
}
