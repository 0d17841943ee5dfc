using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Placement;
using ModelNodeSpec = ComputeNet.Actors.Model.NodeSpec;
using PlacementSubtask = ComputeNet.Actors.Placement.Subtask;
using PlacementEdge = ComputeNet.Actors.Placement.SubtaskEdge;

namespace ComputeNet.Actors.Scheduling;

/// <summary>
/// The schedulable nodes and the network between them, built once per fleet refresh: the network keeps
/// its shortest-path cache across plans, so only node availability changes from one plan to the next.
/// </summary>
public sealed class PlanningFleet
{
    public PlanningFleet(IReadOnlyList<ModelNodeSpec> nodes, IReadOnlyList<FleetLink> links)
    {
        Nodes = nodes;
        var indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var v = 0; v < nodes.Count; v++) indexById[nodes[v].NodeId] = v;
        IndexById = indexById;
        Network = new Network(nodes.Count, NetworkLinks(links, indexById));
    }

    public static PlanningFleet Empty { get; } = new([], []);

    public IReadOnlyList<ModelNodeSpec> Nodes { get; }

    public IReadOnlyDictionary<string, int> IndexById { get; }

    public Network Network { get; }

    /// <summary>Links between fleet nodes, one per node pair (the lowest latency when both ends report).</summary>
    public static List<LinkSpec> NetworkLinks(IReadOnlyList<FleetLink> links, IReadOnlyDictionary<string, int> indexById)
    {
        var byPair = new Dictionary<(int, int), LinkSpec>();
        foreach (var link in links)
        {
            if (!indexById.TryGetValue(link.Src, out var a) || !indexById.TryGetValue(link.Dst, out var b) || a == b) continue;
            var key = (Math.Min(a, b), Math.Max(a, b));
            var spec = new LinkSpec(key.Item1, key.Item2, link.CapacityMbps, link.LatencyMs)
            {
                UsedMbps = Math.Max(0, link.CapacityMbps - link.AvailableMbps),
            };
            if (!byPair.TryGetValue(key, out var known) || spec.LatencyMs < known.LatencyMs) byPair[key] = spec;
        }
        return [.. byPair.Values];
    }
}

/// <summary>A link that is up, with its latest bandwidth and latency.</summary>
public sealed record FleetLink(string Src, string Dst, double CapacityMbps, double AvailableMbps, double LatencyMs);

/// <summary>What to plan: a whole app, or (with <see cref="Current"/> and <see cref="Replace"/>) a few of its subtasks around the rest.</summary>
public sealed record PlanRequest(string AppId, AppSpec Spec, MultiGranularityDecomposition Decomposition, string Policy)
{
    public PlacementDecision? Current { get; init; }

    /// <summary>Subtasks of <see cref="Current"/> to move; the others stay where they are.</summary>
    public IReadOnlyCollection<string> Replace { get; init; } = [];

    /// <summary>Nodes the moved subtasks must not go to (their deployment failed there).</summary>
    public IReadOnlyCollection<string> AvoidNodes { get; init; } = [];

    public bool IsPartial => Current is not null && Replace.Count > 0;
}

/// <summary>A decomposed app as the placement library sees it.</summary>
public sealed record AppShape(IReadOnlyList<PlacementSubtask> Subtasks, IReadOnlyList<PlacementEdge> Edges, IReadOnlyList<int> UserAccessNodes,
    IReadOnlyList<int> Order);

/// <summary>The planner's answer: a decision plus the demands to reserve per node, or why nothing fits.</summary>
public abstract record PlanOutcome
{
    public sealed record Planned(PlacementDecision Decision, IReadOnlyDictionary<string, IReadOnlyList<Nodes.SubtaskDemand>> DemandsByNode) : PlanOutcome;

    public sealed record Impossible(string Reason) : PlanOutcome;
}

/// <summary>
/// Pure: turns the live fleet and a decomposed app into a <see cref="PlacementProblem"/>, runs the
/// policy, and maps the result back to node and subtask ids. Granularities are tried finest first;
/// the first one the policy can place wins.
/// </summary>
public static class SchedulingPlanner
{
    /// <param name="available">what each node of <paramref name="fleet"/> can still reserve, by index.</param>
    public static PlanOutcome Plan(PlanningFleet fleet, IReadOnlyList<Resources> available, PlanRequest request, IPlacementPolicy policy)
    {
        if (fleet.Nodes.Count == 0) return new PlanOutcome.Impossible("no schedulable node is registered");
        var granularities = request.IsPartial
            ? request.Decomposition.Granularities.Where(d => d.Granularity == request.Current!.Granularity).ToList()
            : request.Decomposition.Granularities.Where(d => d.IsFeasible).ToList();
        if (granularities.Count == 0) return new PlanOutcome.Impossible("the app has no feasible decomposition to place");

        var reasons = new List<string>();
        foreach (var decomposition in granularities)
        {
            var outcome = PlanGranularity(fleet, available, request, decomposition, policy);
            if (outcome is PlanOutcome.Planned) return outcome;
            reasons.Add($"{decomposition.Granularity}: {((PlanOutcome.Impossible)outcome).Reason}");
        }
        return new PlanOutcome.Impossible(string.Join("; ", reasons));
    }

    private static PlanOutcome PlanGranularity(PlanningFleet fleet, IReadOnlyList<Resources> available, PlanRequest request,
        Decomposition.Decomposition decomposition, IPlacementPolicy policy)
    {
        var fixedNodes = request.IsPartial
            ? request.Current!.Subtasks.Where(s => !request.Replace.Contains(s.SubtaskId)).ToDictionary(s => s.SubtaskId, s => s.NodeId)
            : [];
        var avoid = request.AvoidNodes.ToHashSet(StringComparer.Ordinal);

        var indexById = fleet.IndexById;
        var count = fleet.Nodes.Count;
        var missing = fixedNodes.Values.Where(n => !indexById.ContainsKey(n)).Distinct().ToList();
        if (missing.Count > 0) return new PlanOutcome.Impossible($"node(s) {string.Join(", ", missing)} of the current plan are no longer schedulable");

        var subtasks = decomposition.Subtasks;
        // Fixed subtasks already hold their capacity: give it back to their node for this plan only.
        var heldByFixed = new Resources[count];
        foreach (var s in subtasks)
            if (fixedNodes.TryGetValue(s.Id, out var node)) heldByFixed[indexById[node]] += DemandOf(s);

        var nodes = new NodeSpec[count];
        for (var v = 0; v < count; v++)
        {
            var spec = fleet.Nodes[v];
            var capacity = CapacityOf(spec);
            var free = avoid.Contains(spec.NodeId) ? heldByFixed[v] : available[v] + heldByFixed[v];
            nodes[v] = PlacementNode(spec, capacity, Resources.Max(capacity - free, Resources.Zero));
        }

        if (ShapeOf(request.Spec, decomposition, indexById, fixedNodes) is not { } shape)
            return new PlanOutcome.Impossible(request.Spec.AccessPoints.Count == 0
                ? "a subtask is pinned to the user's access node but the app names no access point"
                : $"none of the access points ({string.Join(", ", request.Spec.AccessPoints)}) is a schedulable node");
        var (placementSubtasks, edges, users, order) = shape;

        var problem = new PlacementProblem(nodes, fleet.Network, placementSubtasks, edges, users, order);
        var result = policy.Place(problem);
        if (result is PlacementRejection rejection) return new PlanOutcome.Impossible(rejection.Reason);

        var plan = (PlacementPlan)result;
        var placements = new List<SubtaskPlacement>(subtasks.Count);
        var demands = new Dictionary<string, List<Nodes.SubtaskDemand>>(StringComparer.Ordinal);
        for (var k = 0; k < subtasks.Count; k++)
        {
            var nodeId = nodes[plan.Assignment[k]].Id;
            var demand = DemandOf(subtasks[k]);
            var runnersUp = plan.RunnersUp.Count > k
                ? plan.RunnersUp[k].Where(c => c.NodeId != nodeId).Select(c => new RunnerUp(c.NodeId, Math.Round(c.Score, 6))).ToList()
                : [];
            var kept = fixedNodes.TryGetValue(subtasks[k].Id, out var keptNode) && keptNode == nodeId;
            placements.Add(kept ? request.Current!.For(subtasks[k].Id)! : new SubtaskPlacement(subtasks[k].Id, nodeId, demand, runnersUp));
            if (kept) continue;
            if (!demands.TryGetValue(nodeId, out var list)) demands[nodeId] = list = [];
            list.Add(new Nodes.SubtaskDemand(subtasks[k].Id, demand));
        }
        var decision = new PlacementDecision(decomposition.Granularity, plan.PolicyName, plan.Objective, placements, 1);
        return new PlanOutcome.Planned(decision, demands.ToDictionary(p => p.Key, p => (IReadOnlyList<Nodes.SubtaskDemand>)p.Value, StringComparer.Ordinal));
    }

    /// <summary>
    /// A decomposed app in the placement library's terms, against nodes indexed by <paramref name="indexById"/>:
    /// subtasks (pinned to <paramref name="fixedNodes"/> where given), edges, the user's access nodes and the placement
    /// order (grading rank). Null when a subtask is pinned to the user's access node and no access point is a known node.
    /// </summary>
    public static AppShape? ShapeOf(AppSpec spec, Decomposition.Decomposition decomposition, IReadOnlyDictionary<string, int> indexById,
        IReadOnlyDictionary<string, string>? fixedNodes = null)
    {
        var subtasks = decomposition.Subtasks;
        var subtaskIndex = subtasks.Select((s, k) => (s.Id, k)).ToDictionary(p => p.Id, p => p.k, StringComparer.Ordinal);
        var placementSubtasks = subtasks.Select(s => ToPlacement(s, fixedNodes?.GetValueOrDefault(s.Id))).ToList();
        var edges = decomposition.SubtaskEdges
            .Where(e => subtaskIndex.ContainsKey(e.From) && subtaskIndex.ContainsKey(e.To))
            .Select(e => new PlacementEdge(subtaskIndex[e.From], subtaskIndex[e.To])
            {
                DataRateMbps = e.DataRateMbps,
                TransferDelayThresholdMs = e.TransferDelayThresholdMs ?? double.PositiveInfinity,
                BandwidthFloorMbps = e.BandwidthFloorMbps ?? 0,
            })
            .ToList();
        var users = spec.AccessPoints.Where(indexById.ContainsKey).Select(a => indexById[a]).Distinct().ToList();
        if (users.Count == 0 && placementSubtasks.Any(s => s.Pinning.AtUserAccessNode)) return null;
        var order = Enumerable.Range(0, subtasks.Count).OrderBy(k => subtasks[k].Rank).ThenBy(k => k).ToList();
        return new AppShape(placementSubtasks, edges, users, order);
    }

    public static Resources CapacityOf(ModelNodeSpec spec) => new(spec.CpuCores, spec.MemoryGb, spec.StorageGb, spec.Gpus);

    /// <summary>A registered node in the placement library's terms, with what it has and what is already used of it.</summary>
    public static NodeSpec PlacementNode(ModelNodeSpec spec, Resources capacity, Resources used) =>
        new(spec.NodeId, spec.Tier, spec.Region, capacity, spec.CpuMipsPerCore, spec.Reliability, spec.PowerIdleW, spec.PowerPeakW) { Used = used };

    public static Resources DemandOf(Decomposition.Subtask subtask) => new(subtask.CpuCores, subtask.MemoryGb, subtask.StorageGb, subtask.Gpus);

    /// <summary>
    /// The decomposition's subtask in the placement library's terms. Its execution-time bound holds on a node
    /// exactly when the node's speed reaches <see cref="Decomposition.Subtask.RequiredSpeedMipsPerCore"/>, so the
    /// work is stated as what that speed finishes within the threshold.
    /// </summary>
    private static PlacementSubtask ToPlacement(Decomposition.Subtask subtask, string? fixedNode)
    {
        var threshold = subtask.ExecutionTimeThresholdMs ?? double.PositiveInfinity;
        var timed = double.IsFinite(threshold) && subtask.CpuCores > 0 && subtask.RequiredSpeedMipsPerCore > 0;
        return new PlacementSubtask(subtask.Id, DemandOf(subtask))
        {
            WorkMi = timed ? subtask.RequiredSpeedMipsPerCore * subtask.CpuCores * threshold / 1000.0 : 0,
            ExecutionTimeThresholdMs = timed ? threshold : double.PositiveInfinity,
            ReliabilityThreshold = subtask.ReliabilityThreshold,
            Pinning = fixedNode is not null ? new Placement.Pinning { NodeId = fixedNode } : ToPlacement(subtask.Pinning),
            // The placement model knows one anti-affinity group per subtask; decomposition never merges two members of one group.
            AntiAffinityGroup = subtask.AntiAffinityGroups.Count > 0 ? subtask.AntiAffinityGroups[0] : null,
        };
    }

    private static Placement.Pinning ToPlacement(Model.Apps.Pinning pinning) => pinning.Kind switch
    {
        PinningKind.AccessNode => new Placement.Pinning { AtUserAccessNode = true },
        PinningKind.Region => new Placement.Pinning { Region = pinning.Target },
        PinningKind.Tier when Enum.TryParse<Model.NodeTier>(pinning.Target, ignoreCase: true, out var tier) => new Placement.Pinning { Tier = tier },
        PinningKind.Node => new Placement.Pinning { NodeId = pinning.Target },
        _ => Placement.Pinning.None,
    };
}
