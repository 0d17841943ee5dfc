namespace ComputeNet.Actors.Placement;

/// <summary>
/// The constraints a plan must meet. The first five are the seed's; the incremental check tests
/// them in this order, so a later kind means a candidate got further before failing.
/// </summary>
public enum ConstraintKind
{
    /// <summary>Pinning to a named node, region, tier or the user's access node.</summary>
    Pinning,
    /// <summary>Seed (1): the node's compute/storage (its total capacity) meets the demand.</summary>
    NodeCapability,
    /// <summary>Seed (2): node reliability ≥ the subtask's threshold.</summary>
    Reliability,
    /// <summary>Seed (4): work / (speed × cores) ≤ the execution-time threshold.</summary>
    ExecutionTime,
    /// <summary>Seed (3): used + this plan's load never exceeds what is free on the node.</summary>
    Capacity,
    AntiAffinity,
    Colocation,
    /// <summary>Seed (5): path latency + size / bottleneck bandwidth ≤ the transfer-delay threshold.</summary>
    TransferDelay,
    /// <summary>Data rates routed over a link fit its available bandwidth; bandwidth floors hold.</summary>
    LinkBandwidth,
    /// <summary>A subtask has no node in the plan.</summary>
    Unplaced,
}

/// <summary>One broken constraint of a plan: which, for which subtask, on which node (−1 if none).</summary>
public sealed record Violation(ConstraintKind Constraint, int Subtask, int Node, string Detail);

/// <summary>
/// A plan under construction: subtask → node (−1 = not yet placed), plus the load it puts on
/// nodes and links so that incremental checks cost O(degree) rather than O(plan).
/// Mutable on purpose: policies assign and undo thousands of times per decision.
/// </summary>
public sealed class PartialPlan
{
    private readonly int[] _nodeOf;
    private readonly Dictionary<int, Resources> _addedLoad = new();
    private readonly Dictionary<int, double> _linkLoadMbps = new();
    private readonly Dictionary<int, (int[] Links, double RateMbps)[]> _edgeRoutes = new();
    private readonly PlacementProblem _problem;

    public PartialPlan(PlacementProblem problem)
    {
        _problem = problem;
        _nodeOf = new int[problem.Subtasks.Count];
        Array.Fill(_nodeOf, -1);
    }

    public PartialPlan(PlacementProblem problem, IReadOnlyList<int> assignment) : this(problem)
    {
        for (var k = 0; k < assignment.Count; k++)
            if (assignment[k] >= 0) Assign(k, assignment[k]);
    }

    public int PlacedCount { get; private set; }

    public int NodeOf(int subtask) => _nodeOf[subtask];

    public bool IsPlaced(int subtask) => _nodeOf[subtask] >= 0;

    public IReadOnlyList<int> Assignment => _nodeOf;

    /// <summary>Resources this plan adds to a node.</summary>
    public Resources AddedLoad(int node) => _addedLoad.GetValueOrDefault(node);

    public double LinkLoadMbps(int link) => _linkLoadMbps.GetValueOrDefault(link);

    /// <summary>An upper bound on any link's load from this plan (never lowered on undo), for the checker's fast path.</summary>
    internal double MaxLinkLoadMbps { get; private set; }

    public IEnumerable<int> TouchedNodes => _addedLoad.Keys;

    public int[] ToArray() => (int[])_nodeOf.Clone();

    public void Assign(int subtask, int node)
    {
        if (_nodeOf[subtask] >= 0) throw new InvalidOperationException($"Subtask {subtask} is already placed.");
        _nodeOf[subtask] = node;
        PlacedCount++;
        _addedLoad[node] = _addedLoad.GetValueOrDefault(node) + _problem.Subtasks[subtask].Demand;
        foreach (var e in _problem.EdgesOf[subtask])
        {
            var edge = _problem.Edges[e];
            if (edge.DataRateMbps <= 0) continue;
            var ends = EdgeEnds(edge);
            if (ends is null) continue;
            var routes = new List<(int[], double)>();
            foreach (var (a, b) in ends)
            {
                var links = _problem.Network.PathLinks(a, b);
                foreach (var link in links)
                {
                    var load = _linkLoadMbps.GetValueOrDefault(link) + edge.DataRateMbps;
                    _linkLoadMbps[link] = load;
                    MaxLinkLoadMbps = Math.Max(MaxLinkLoadMbps, load);
                }
                routes.Add((links, edge.DataRateMbps));
            }
            _edgeRoutes[e] = [.. routes];
        }
        // User edges have only one subtask end, so they are routed as soon as it is placed: handled above.
    }

    public void Unassign(int subtask)
    {
        var node = _nodeOf[subtask];
        if (node < 0) return;
        foreach (var e in _problem.EdgesOf[subtask])
        {
            if (!_edgeRoutes.Remove(e, out var routes)) continue;
            foreach (var (links, rate) in routes)
                foreach (var link in links) _linkLoadMbps[link] -= rate;
        }
        var load = _addedLoad[node] - _problem.Subtasks[subtask].Demand;
        if (_problem.Subtasks.Where((_, k) => k != subtask && _nodeOf[k] == node).Any()) _addedLoad[node] = load;
        else _addedLoad.Remove(node);
        _nodeOf[subtask] = -1;
        PlacedCount--;
    }

    /// <summary>The node pairs an edge spans once both its ends are placed (several if the user has several access nodes).</summary>
    internal IEnumerable<(int, int)>? EdgeEnds(SubtaskEdge edge)
    {
        if (edge.From == SubtaskEdge.User && edge.To == SubtaskEdge.User) return null;
        if (edge.From == SubtaskEdge.User)
            return _nodeOf[edge.To] < 0 ? null : _problem.UserAccessNodes.Select(u => (u, _nodeOf[edge.To]));
        if (edge.To == SubtaskEdge.User)
            return _nodeOf[edge.From] < 0 ? null : _problem.UserAccessNodes.Select(u => (_nodeOf[edge.From], u));
        if (_nodeOf[edge.From] < 0 || _nodeOf[edge.To] < 0) return null;
        return [(_nodeOf[edge.From], _nodeOf[edge.To])];
    }
}

/// <summary>
/// The one feasibility checker. Validates whole plans (every violation) and answers the
/// incremental question "can subtask k go on node v given this partial plan?" that every policy,
/// and the learned policy's action mask, must use.
/// </summary>
public sealed class FeasibilityChecker
{
    public static readonly FeasibilityChecker Default = new();

    /// <summary>Slack for rounding: a route's latency summed from one end or the other may differ in the last bits.</summary>
    private const double DelayToleranceMs = 1e-5;

    /// <summary>Null when subtask <paramref name="k"/> may go on node <paramref name="v"/>; else the first constraint broken.</summary>
    public ConstraintKind? Check(PlacementProblem problem, PartialPlan plan, int k, int v)
    {
        var subtask = problem.SubtaskArray[k];
        var node = problem.NodeArray[v];
        if (!PinningAllows(problem, subtask.Pinning, v)) return ConstraintKind.Pinning;
        if (!subtask.Demand.FitsIn(node.Capacity)) return ConstraintKind.NodeCapability;
        if (node.Reliability < subtask.ReliabilityThreshold) return ConstraintKind.Reliability;
        if (ExecutionTimeMs(subtask, node) > subtask.ExecutionTimeThresholdMs) return ConstraintKind.ExecutionTime;
        if (!(plan.AddedLoad(v) + subtask.Demand).FitsIn(problem.Free[v])) return ConstraintKind.Capacity;
        if (subtask.AntiAffinityGroup is { } anti)
            foreach (var other in problem.AntiAffinityMembers[anti])
                if (other != k && plan.NodeOf(other) == v) return ConstraintKind.AntiAffinity;
        if (subtask.ColocationGroup is { } colo)
            foreach (var other in problem.ColocationMembers[colo])
                if (other != k && plan.NodeOf(other) >= 0 && plan.NodeOf(other) != v) return ConstraintKind.Colocation;
        return CheckEdges(problem, plan, k, v);
    }

    public bool CanPlace(PlacementProblem problem, PartialPlan plan, int k, int v) => Check(problem, plan, k, v) is null;

    /// <summary>The nodes (of <paramref name="candidates"/>, or all) where subtask k may go now.</summary>
    public IReadOnlyList<int> FeasibleNodes(PlacementProblem problem, PartialPlan plan, int k, IEnumerable<int>? candidates = null)
    {
        var result = new List<int>();
        foreach (var v in candidates ?? Enumerable.Range(0, problem.Nodes.Count))
            if (Check(problem, plan, k, v) is null) result.Add(v);
        return result;
    }

    /// <summary>Action mask over all nodes for learned policies: true where subtask k may go.</summary>
    public bool[] FeasibleMask(PlacementProblem problem, PartialPlan plan, int k)
    {
        var mask = new bool[problem.Nodes.Count];
        for (var v = 0; v < mask.Length; v++) mask[v] = Check(problem, plan, k, v) is null;
        return mask;
    }

    public static double ExecutionTimeMs(Subtask subtask, NodeSpec node)
    {
        if (subtask.WorkMi <= 0) return 0;
        var rate = node.SpeedMipsPerCore * subtask.Demand.CpuCores;
        return rate <= 0 ? double.PositiveInfinity : subtask.WorkMi / rate * 1000.0;
    }

    /// <summary>Seed (5): path latency + size / bottleneck; 0 when co-located.</summary>
    public static double TransferDelayMs(PlacementProblem problem, SubtaskEdge edge, int fromNode, int toNode)
    {
        if (fromNode == toNode) return 0;
        var latency = problem.Network.LatencyMs(fromNode, toNode);
        if (double.IsPositiveInfinity(latency)) return latency;
        if (edge.DataPerRequestMb <= 0) return latency;
        var bottleneck = problem.Network.BottleneckMbps(fromNode, toNode);
        return bottleneck <= 0 ? double.PositiveInfinity : latency + edge.DataPerRequestMb / bottleneck * 1000.0;
    }

    /// <summary>Every violation of a complete plan (assignment[k] = node index, −1 = unplaced).</summary>
    public IReadOnlyList<Violation> Validate(PlacementProblem problem, IReadOnlyList<int> assignment)
    {
        var violations = new List<Violation>();
        var load = new Dictionary<int, Resources>();
        var tooSmall = new HashSet<int>(); // an overload already explained by (1) is not reported again as (3)
        for (var k = 0; k < problem.Subtasks.Count; k++)
        {
            var v = assignment[k];
            var subtask = problem.Subtasks[k];
            if (v < 0)
            {
                violations.Add(new(ConstraintKind.Unplaced, k, -1, $"{subtask.Id} has no node"));
                continue;
            }
            var node = problem.Nodes[v];
            if (!PinningAllows(problem, subtask.Pinning, v))
                violations.Add(new(ConstraintKind.Pinning, k, v, $"{subtask.Id} is pinned elsewhere than {node.Id}"));
            if (!subtask.Demand.FitsIn(node.Capacity))
            {
                violations.Add(new(ConstraintKind.NodeCapability, k, v, $"{node.Id} is too small for {subtask.Id}"));
                tooSmall.Add(v);
            }
            if (node.Reliability < subtask.ReliabilityThreshold)
                violations.Add(new(ConstraintKind.Reliability, k, v, $"{node.Id} reliability {node.Reliability} < {subtask.ReliabilityThreshold}"));
            var executionMs = ExecutionTimeMs(subtask, node);
            if (executionMs > subtask.ExecutionTimeThresholdMs)
                violations.Add(new(ConstraintKind.ExecutionTime, k, v, $"{executionMs:F2} ms > {subtask.ExecutionTimeThresholdMs} ms"));
            load[v] = load.GetValueOrDefault(v) + subtask.Demand;
        }
        foreach (var (v, sum) in load)
        {
            if (sum.FitsIn(problem.Free[v]) || tooSmall.Contains(v)) continue;
            var last = Enumerable.Range(0, assignment.Count).Last(k => assignment[k] == v);
            violations.Add(new(ConstraintKind.Capacity, last, v, $"{problem.Nodes[v].Id} over its free capacity: {sum} > {problem.Free[v]}"));
        }
        foreach (var (_, members) in problem.AntiAffinityMembers)
            for (var i = 0; i < members.Length; i++)
                for (var j = i + 1; j < members.Length; j++)
                    if (assignment[members[i]] >= 0 && assignment[members[i]] == assignment[members[j]])
                        violations.Add(new(ConstraintKind.AntiAffinity, members[j], assignment[members[j]], $"shares a node with {problem.Subtasks[members[i]].Id}"));
        foreach (var (_, members) in problem.ColocationMembers)
            for (var i = 1; i < members.Length; i++)
                if (assignment[members[i]] >= 0 && assignment[members[0]] >= 0 && assignment[members[i]] != assignment[members[0]])
                    violations.Add(new(ConstraintKind.Colocation, members[i], assignment[members[i]], $"not with {problem.Subtasks[members[0]].Id}"));

        var linkLoad = new Dictionary<int, double>();
        var linkBlame = new Dictionary<int, int>();
        var plan = new PartialPlan(problem);
        for (var k = 0; k < assignment.Count; k++) if (assignment[k] >= 0) plan.Assign(k, assignment[k]);
        for (var e = 0; e < problem.Edges.Count; e++)
        {
            var edge = problem.Edges[e];
            var ends = plan.EdgeEnds(edge);
            if (ends is null) continue;
            var blamed = edge.To == SubtaskEdge.User ? edge.From : edge.To;
            foreach (var (a, b) in ends)
            {
                var delay = TransferDelayMs(problem, edge, a, b);
                if (delay > edge.TransferDelayThresholdMs + DelayToleranceMs)
                    violations.Add(new(ConstraintKind.TransferDelay, blamed, assignment[blamed], $"edge {e}: {delay:F2} ms > {edge.TransferDelayThresholdMs} ms"));
                if (a != b && edge.BandwidthFloorMbps > 0 && problem.Network.BottleneckMbps(a, b) < edge.BandwidthFloorMbps)
                    violations.Add(new(ConstraintKind.LinkBandwidth, blamed, assignment[blamed], $"edge {e}: route below its {edge.BandwidthFloorMbps} Mbps floor"));
                if (edge.DataRateMbps <= 0) continue;
                foreach (var link in problem.Network.PathLinks(a, b))
                {
                    linkLoad[link] = linkLoad.GetValueOrDefault(link) + edge.DataRateMbps;
                    linkBlame[link] = blamed;
                }
            }
        }
        foreach (var (link, rate) in linkLoad)
        {
            var available = problem.Network.AvailableMbps(link);
            if (rate > available + 1e-9)
                violations.Add(new(ConstraintKind.LinkBandwidth, linkBlame[link], assignment[linkBlame[link]], $"link {link}: {rate:F2} Mbps > {available:F2} Mbps"));
        }
        return violations;
    }

    internal static bool PinningAllows(PlacementProblem problem, Pinning pinning, int v)
    {
        if (pinning.IsNone) return true;
        var node = problem.Nodes[v];
        if (pinning.NodeId is { } id && node.Id != id) return false;
        if (pinning.Region is { } region && node.Region != region) return false;
        if (pinning.Tier is { } tier && node.Tier != tier) return false;
        if (pinning.AtUserAccessNode && !problem.UserAccessSet.Contains(v)) return false;
        return true;
    }

    [ThreadStatic] private static List<int>? _routeBuffer;

    private static ConstraintKind? CheckEdges(PlacementProblem problem, PartialPlan plan, int k, int v)
    {
        // Rates of this subtask's edges already routed in this check. Counted against every link
        // (not per link): slightly conservative when two of its routes diverge, but allocation-free.
        var pendingMbps = 0.0;
        var route = _routeBuffer ??= new List<int>(64);
        var edges = problem.EdgesOf[k];
        for (var i = 0; i < edges.Length; i++)
        {
            var edge = problem.Edges[edges[i]];
            var other = edge.From == k ? edge.To : edge.From;
            if (other == SubtaskEdge.User)
            {
                foreach (var u in problem.UserNodeArray)
                    if (CheckPair(problem, plan, edge, u, v, route, ref pendingMbps) is { } broken) return broken;
            }
            else if (other != k && plan.NodeOf(other) >= 0)
            {
                if (CheckPair(problem, plan, edge, plan.NodeOf(other), v, route, ref pendingMbps) is { } broken) return broken;
            }
        }
        return null;
    }

    // Same formula as TransferDelayMs, on one walk of the route. Routed from the placed end u, so
    // the cached Dijkstra of u serves every candidate v.
    private static ConstraintKind? CheckPair(PlacementProblem problem, PartialPlan plan, SubtaskEdge edge, int u, int v, List<int> route, ref double pendingMbps)
    {
        if (u == v) return null;
        var network = problem.Network;
        // The path latency alone must stay within the threshold, so the search need not go further.
        var maxDelayMs = edge.TransferDelayThresholdMs + DelayToleranceMs;
        if (!network.TryRoute(u, v, route, out var latency, out var bottleneck, maxDelayMs)) return ConstraintKind.TransferDelay;
        if (edge.DataPerRequestMb > 0)
        {
            var delay = bottleneck <= 0 ? double.PositiveInfinity : latency + edge.DataPerRequestMb / bottleneck * 1000.0;
            if (delay > maxDelayMs) return ConstraintKind.TransferDelay;
        }
        if (bottleneck < edge.BandwidthFloorMbps) return ConstraintKind.LinkBandwidth;
        if (edge.DataRateMbps <= 0) return null;
        var extra = pendingMbps + edge.DataRateMbps;
        // Fast path: even the most loaded link of the plan would fit on the route's narrowest link.
        if (plan.MaxLinkLoadMbps + extra > bottleneck + 1e-9)
            for (var i = 0; i < route.Count; i++)
                if (plan.LinkLoadMbps(route[i]) + extra > network.AvailableMbps(route[i]) + 1e-9) return ConstraintKind.LinkBandwidth;
        pendingMbps += edge.DataRateMbps;
        return null;
    }
}
