using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement.Learning;

/// <summary>
/// What the learned policy sees for one decision: the pruned candidate nodes for the current
/// subtask (feature rows), the network links among them (edge features), the subtask and plan
/// state (global features), and the action mask from the one feasibility checker.
/// Plain arrays, no TorchSharp: the environment and tests build it without a model.
/// </summary>
public sealed class CandidateGraph
{
    public const int NodeFeatureCount = 33;

    /// <summary>
    /// The first columns of a node row describe the node as the decision found it (tier, capacity,
    /// free share, forecast gap, reliability, speed, power), the same for every subtask of one decision;
    /// the rest describe the current subtask against the node under the partial plan.
    /// </summary>
    public const int StaticFeatureCount = 17;

    public const int StepFeatureCount = NodeFeatureCount - StaticFeatureCount;
    public const int EdgeFeatureCount = 3;
    public const int GlobalFeatureCount = 8;

    public required int Subtask { get; init; }

    /// <summary>Node index of each candidate (graph slot → fleet node).</summary>
    public required int[] Nodes { get; init; }

    /// <summary>Row-major Nodes.Length × <see cref="NodeFeatureCount"/>.</summary>
    public required float[] NodeFeatures { get; init; }

    /// <summary>True where the subtask may go now (never a node the checker rejects).</summary>
    public required bool[] Mask { get; init; }

    /// <summary>Directed edges between candidate slots (both directions of each link).</summary>
    public required int[] EdgeSource { get; init; }

    public required int[] EdgeTarget { get; init; }

    /// <summary>Row-major EdgeSource.Length × <see cref="EdgeFeatureCount"/>: latency, available bandwidth, load before the decision.</summary>
    public required float[] EdgeFeatures { get; init; }

    public required float[] GlobalFeatures { get; init; }

    public int Count => Nodes.Length;

    public bool AnyFeasible => Mask.Contains(true);

    /// <summary>
    /// Candidates for subtask k: the <paramref name="limit"/> nearest by latency to its placed neighbours
    /// or the user (the greedy policies' pruning), all of them kept as graph context; when none is
    /// feasible, the first <paramref name="limit"/> feasible ones of the widened scan. Inference cost is
    /// bounded by the limit, not the fleet.
    /// </summary>
    internal static CandidateGraph Build(GreedyContext context, int k, int limit, int step, int steps)
    {
        var problem = context.Problem;
        var checker = FeasibilityChecker.Default;
        var candidates = context.Candidates(k, limit, wide: false).Take(Math.Max(limit, 1)).ToArray();
        var mask = candidates.Select(v => checker.CanPlace(problem, context.Plan, k, v)).ToArray();
        if (!mask.Contains(true) && !context.CandidatesAreWhole(k, limit))
        {
            var wide = checker.FeasibleNodes(problem, context.Plan, k, context.Candidates(k, limit, wide: true)).Take(limit).ToArray();
            if (wide.Length > 0)
            {
                candidates = wide;
                mask = [.. wide.Select(_ => true)];
            }
        }
        return Describe(context, k, candidates, mask, step, steps);
    }

    /// <summary>
    /// The graph <see cref="Build"/> gives, from the candidates and mask the search has just checked
    /// (so no node is checked twice): the narrow scan's candidates with their mask, or the first
    /// <paramref name="limit"/> feasible ones of a widened scan.
    /// </summary>
    internal static CandidateGraph FromCheckedCandidates(GreedyContext context, int k, IReadOnlyList<int> candidates, bool[] feasible,
        bool widened, int limit, int step, int steps)
    {
        if (widened)
        {
            var nodes = new List<int>(limit);
            for (var i = 0; i < candidates.Count && nodes.Count < limit; i++)
                if (feasible[i]) nodes.Add(candidates[i]);
            return Describe(context, k, [.. nodes], [.. nodes.Select(_ => true)], step, steps);
        }
        var count = Math.Min(candidates.Count, Math.Max(limit, 1));
        var slots = new int[count];
        for (var i = 0; i < count; i++) slots[i] = candidates[i];
        return Describe(context, k, slots, feasible[..count], step, steps);
    }

    private static CandidateGraph Describe(GreedyContext context, int k, int[] candidates, bool[] mask, int step, int steps)
    {
        var problem = context.Problem;
        var subtask = problem.SubtaskArray[k];
        var objective = context.Objective;
        var plan = context.Plan;
        var n = candidates.Length;
        var x = new float[n * NodeFeatureCount];
        var cache = context.GraphCache;

        var deltas = new double[n];
        double minDelta = double.PositiveInfinity, maxDelta = double.NegativeInfinity;
        for (var i = 0; i < n; i++)
        {
            deltas[i] = objective.Delta(plan, k, candidates[i]);
            if (!mask[i]) continue;
            minDelta = Math.Min(minDelta, deltas[i]);
            maxDelta = Math.Max(maxDelta, deltas[i]);
        }
        var deltaRange = maxDelta > minDelta ? maxDelta - minDelta : 1;

        for (var i = 0; i < n; i++)
        {
            var v = candidates[i];
            var node = problem.NodeArray[v];
            var free = problem.Free[v];
            var added = plan.AddedLoad(v);
            var row = x.AsSpan(i * NodeFeatureCount, NodeFeatureCount);
            cache.StaticRow(context, v).CopyTo(row);

            // This subtask against the node under the partial plan (what the per-step head sees).
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                var capacity = node.Capacity[d];
                var left = free[d] - added[d];
                row[17 + d] = capacity > 0 ? (float)Math.Clamp(left / capacity, 0, 1) : 0;
                row[21 + d] = subtask.Demand[d] <= 0 ? 0 : left <= 1e-9 ? 2 : (float)Math.Min(2, subtask.Demand[d] / left);
            }
            row[25] = objective.IsEmptyBeforePlan(v) && added.CpuCores + added.MemoryGb <= 0 ? 1 : 0;
            row[26] = added.CpuCores + added.MemoryGb + added.StorageGb + added.Gpus > 0 ? 1 : 0;
            row[27] = (float)Math.Clamp(deltas[i] * 10, -5, 5);
            row[28] = mask[i] ? (float)((deltas[i] - minDelta) / deltaRange) : 1;
            row[29] = (float)Math.Min(5, context.NeighbourLatencyMs(k, v) / 20);
            row[30] = cache.UserLatencyFeature(context, v);
            var executionMs = FeasibilityChecker.ExecutionTimeMs(subtask, node);
            row[31] = double.IsFinite(subtask.ExecutionTimeThresholdMs) && subtask.ExecutionTimeThresholdMs > 0
                ? (float)Math.Min(2, executionMs / subtask.ExecutionTimeThresholdMs) : 0;
            row[32] = mask[i] ? 1 : 0;
        }

        var links = cache.Links(context, candidates);

        double remainingCpu = 0;
        var remaining = 0;
        for (var other = 0; other < problem.SubtaskArray.Length; other++)
            if (!plan.IsPlaced(other) && other != k)
            {
                remainingCpu += problem.SubtaskArray[other].Demand.CpuCores;
                remaining++;
            }
        double freeCpu = 0;
        for (var i = 0; i < n; i++) freeCpu += Math.Max(0, problem.Free[candidates[i]].CpuCores - plan.AddedLoad(candidates[i]).CpuCores);
        var global = new float[GlobalFeatureCount];
        global[0] = (float)(Math.Log(1 + subtask.Demand.CpuCores) / 3);
        global[1] = (float)(Math.Log(1 + subtask.Demand.MemoryGb) / 4);
        global[2] = steps == 0 ? 0 : (float)step / steps;
        global[3] = (float)Math.Min(2, remaining / 25.0);
        global[4] = freeCpu > 0 ? (float)Math.Min(2, remainingCpu / freeCpu) : 2;
        global[5] = (float)Math.Clamp((subtask.ReliabilityThreshold - 0.9) * 10, -1, 1);
        global[6] = (float)objective.FleetUtilisation(0);
        global[7] = (float)mask.Count(m => m) / Math.Max(1, n);

        return new CandidateGraph
        {
            Subtask = k,
            Nodes = candidates,
            NodeFeatures = x,
            Mask = mask,
            EdgeSource = links.Source,
            EdgeTarget = links.Target,
            EdgeFeatures = links.Features,
            GlobalFeatures = global,
        };
    }

    /// <summary>
    /// What stays fixed during one decision (one <see cref="GreedyContext"/>): each node's state columns,
    /// its latency to the user, and the links among a candidate set (their features ignore the partial plan).
    /// </summary>
    internal sealed class DecisionCache
    {
        private readonly Dictionary<int, float[]> _staticRows = new();
        private readonly Dictionary<int, float> _userLatency = new();
        private readonly Dictionary<int[], CandidateLinks> _links = new(CandidateSetComparer.Instance);

        public float[] StaticRow(GreedyContext context, int v)
        {
            if (_staticRows.TryGetValue(v, out var known)) return known;
            var problem = context.Problem;
            var node = problem.NodeArray[v];
            var free = problem.Free[v];
            var row = new float[StaticFeatureCount];
            row[0] = node.Tier == NodeTier.Cloud ? 1 : 0;
            row[1] = node.Tier == NodeTier.Edge ? 1 : 0;
            row[2] = node.Tier == NodeTier.Device ? 1 : 0;
            row[3] = (float)(Math.Log(1 + node.Capacity.CpuCores) / 5);
            row[4] = (float)(Math.Log(1 + node.Capacity.MemoryGb) / 7);
            row[5] = (float)(Math.Log(1 + node.Capacity.StorageGb) / 10);
            row[6] = node.Capacity.Gpus > 0 ? 1 : 0;
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                var capacity = node.Capacity[d];
                row[7 + d] = capacity > 0 ? (float)Math.Clamp(free[d] / capacity, 0, 1) : 0;
            }
            var current = node.Capacity - node.Used;
            row[11] = node.Capacity.CpuCores > 0 ? (float)Math.Clamp((current.CpuCores - free.CpuCores) / node.Capacity.CpuCores, 0, 1) : 0;
            row[12] = (float)Math.Clamp((node.Reliability - 0.9) * 10, -1, 1);
            row[13] = (float)(node.SpeedMipsPerCore / 3500);
            row[14] = (float)(Math.Log(1 + node.IdleW) / 7);
            row[15] = node.Capacity.CpuCores > 0 ? (float)Math.Min(2, (node.PeakW - node.IdleW) / node.Capacity.CpuCores / 20) : 0;
            row[16] = context.Objective.IsEmptyBeforePlan(v) ? 1 : 0;
            return _staticRows[v] = row;
        }

        public float UserLatencyFeature(GreedyContext context, int v)
        {
            if (_userLatency.TryGetValue(v, out var known)) return known;
            return _userLatency[v] = (float)Math.Min(5, context.UserLatencyMs(v) / 20);
        }

        public CandidateLinks Links(GreedyContext context, int[] candidates)
        {
            if (_links.TryGetValue(candidates, out var known)) return known;
            var network = context.Problem.Network;
            var slotOf = new Dictionary<int, int>(candidates.Length);
            for (var i = 0; i < candidates.Length; i++) slotOf[candidates[i]] = i;
            var sources = new List<int>();
            var targets = new List<int>();
            var features = new List<float>();
            for (var i = 0; i < candidates.Length; i++)
            {
                foreach (var (neighbour, link) in network.IncidentLinks(candidates[i]))
                {
                    if (!slotOf.TryGetValue(neighbour, out var j)) continue;
                    var spec = network.Links[link];
                    var available = network.AvailableMbps(link);
                    sources.Add(j);
                    targets.Add(i);
                    features.Add((float)Math.Min(5, spec.LatencyMs / 10));
                    features.Add((float)(Math.Log(1 + available) / 10));
                    features.Add(spec.BandwidthMbps > 0 ? (float)Math.Clamp((spec.BandwidthMbps - available) / spec.BandwidthMbps, 0, 1) : 1);
                }
            }
            return _links[candidates] = new CandidateLinks([.. sources], [.. targets], [.. features]);
        }
    }

    internal sealed record CandidateLinks(int[] Source, int[] Target, float[] Features);
}

/// <summary>Candidate sets compared by content (node indices in slot order).</summary>
internal sealed class CandidateSetComparer : IEqualityComparer<int[]>
{
    public static readonly CandidateSetComparer Instance = new();

    public bool Equals(int[]? a, int[]? b) => a is not null && b is not null && a.AsSpan().SequenceEqual(b);

    public int GetHashCode(int[] nodes)
    {
        var hash = new HashCode();
        foreach (var v in nodes) hash.Add(v);
        return hash.ToHashCode();
    }
}
