using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Placement;
using static ComputeNet.Actors.Apps.AppAdjustmentCommands;
using ModelNodeSpec = ComputeNet.Actors.Model.NodeSpec;

namespace ComputeNet.Actors.Scheduling;

/// <summary>
/// A registered node as the rescheduler sees it: its spec, whether it takes work, what its ledger leaves free for a new
/// reservation, and what the ledger holds (committed plus reserved).
/// </summary>
public sealed record LiveNode(ModelNodeSpec Spec, bool Schedulable, Resources Available, Resources Held);

/// <summary>A running app: its spec, decomposition and current placement, and whether it runs degraded.</summary>
public sealed record RunningAppView(string AppId, AppSpec Spec, MultiGranularityDecomposition Decomposition, PlacementDecision Decision, bool Degraded);

/// <summary>What a node's other work leaves free over the forecast horizons (<see cref="Nodes.NodeMetrics.ForecastAvailable"/>).</summary>
public sealed record NodeOutlook(string NodeId, Resources Available);

/// <summary>The highest point forecast over the horizons of a link's latency.</summary>
public sealed record LinkOutlook(string Src, string Dst, double LatencyMs);

/// <summary>Everything one assessment looks at, read from the live actors.</summary>
public sealed record AdjustmentInput(
    IReadOnlyList<LiveNode> Nodes,
    IReadOnlyList<FleetLink> Links,
    IReadOnlyList<RunningAppView> Apps,
    IReadOnlyList<NodeOutlook> NodeForecasts,
    IReadOnlyList<LinkOutlook> LinkForecasts);

/// <summary>What to tell the apps: re-place, degraded, recovered; and when held-back apps are due again.</summary>
public sealed record AdjustmentRound(
    IReadOnlyList<AdjustApp> Adjustments,
    IReadOnlyList<ReportDegradation> Degradations,
    IReadOnlyList<ClearDegradation> Recoveries,
    DateTimeOffset? RetryAt,
    IReadOnlyList<AppAdjustment> Details);

/// <summary>
/// Pure (运行调整 in the live system): builds the running fleet from the live view — registered nodes with the
/// background load their ledgers hold beyond the running apps, down or vanished nodes with no capacity, links that
/// are up — and runs <see cref="RuntimeAdjuster.Review"/> over every running app, now and under the forecast. The
/// stability policy is the caller's and outlives the round. Results come back as commands for the app actors.
/// </summary>
public static class AdjustmentPlanner
{
    public static AdjustmentRound Plan(AdjustmentInput input, string trigger, StabilityPolicy stability, AdjustmentOptions options, DateTimeOffset now)
    {
        var known = input.Nodes.Select(n => n.Spec.NodeId).ToHashSet(StringComparer.Ordinal);
        var vanished = input.Apps.SelectMany(a => a.Decision.NodeIds).Where(id => !known.Contains(id)).Distinct().Order(StringComparer.Ordinal).ToList();
        var indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var id in input.Nodes.Select(n => n.Spec.NodeId).Concat(vanished)) indexById[id] = indexById.Count;

        var tracked = new Resources[indexById.Count];
        foreach (var app in input.Apps)
            foreach (var s in app.Decision.Subtasks)
                tracked[indexById[s.NodeId]] += s.Demand;

        var nodes = new List<NodeSpec>(indexById.Count);
        foreach (var node in input.Nodes)
        {
            var capacity = node.Schedulable ? SchedulingPlanner.CapacityOf(node.Spec) : Resources.Zero;
            // What the ledger holds beyond the running apps (reservations, apps being deployed or adjusted) is background.
            var background = Resources.Max(capacity - node.Available - tracked[nodes.Count], Resources.Zero);
            nodes.Add(SchedulingPlanner.PlacementNode(node.Spec, capacity, node.Schedulable ? background : Resources.Zero));
        }
        // A node that is no longer registered is gone: nothing can run there.
        nodes.AddRange(vanished.Select(id => new NodeSpec(id, Model.NodeTier.Edge, "", Resources.Zero, ModelNodeSpec.DefaultCpuMipsPerCore, 0, 0, 0)));

        var links = PlanningFleet.NetworkLinks(input.Links, indexById);
        var fleet = new RunningFleet(nodes, new Network(nodes.Count, links), options.Weights());
        var reviewed = new List<RunningAppView>();
        foreach (var app in input.Apps)
        {
            if (app.Decomposition.For(app.Decision.Granularity) is not { } cut
                || SchedulingPlanner.ShapeOf(app.Spec, cut, indexById) is not { } shape
                || cut.Subtasks.Any(s => app.Decision.For(s.Id) is null))
                continue;
            var assignment = cut.Subtasks.Select(s => indexById[app.Decision.For(s.Id)!.NodeId]).ToArray();
            fleet.Add(new RunningApp(app.AppId, shape.Subtasks, shape.Edges, shape.UserAccessNodes, assignment) { PlacementOrder = shape.Order });
            reviewed.Add(app);
        }

        var forecast = Forecast(input, fleet, indexById, links);
        var adjuster = new RuntimeAdjuster(fleet, options, stability);
        var results = adjuster.Review(reviewed.Select(a => a.AppId), now, forecast.IsEmpty ? null : forecast);

        var byId = reviewed.ToDictionary(a => a.AppId, StringComparer.Ordinal);
        var adjustments = new List<AdjustApp>();
        var degradations = new List<ReportDegradation>();
        foreach (var result in results)
        {
            var app = byId[result.AppId];
            if (result.Degradation is { } degradation)
                degradations.Add(new ReportDegradation(app.AppId, trigger, degradation.Constraint.ToString(), degradation.SubtaskId, degradation.Reason));
            else if (result is { Committed: true, Replacement.Result: PlacementPlan plan })
                adjustments.Add(ToCommand(app, result, plan, nodes, trigger));
        }
        var affected = results.Where(r => r.Reason != ImpactReason.None).Select(r => r.AppId).ToHashSet(StringComparer.Ordinal);
        var recoveries = reviewed
            .Where(a => a.Degraded && !affected.Contains(a.AppId))
            .Select(a => new ClearDegradation(a.AppId, "its placement meets every constraint again"))
            .Concat(adjustments.Where(a => byId[a.AppId].Degraded).Select(a => new ClearDegradation(a.AppId, "re-placed")))
            .ToList();
        var retryAt = results.Where(r => !r.Decision.Act && r.Decision.RetryAt is not null).Select(r => r.Decision.RetryAt).Min();
        return new AdjustmentRound(adjustments, degradations, recoveries, retryAt, results);
    }

    private static ObjectiveWeights Weights(this AdjustmentOptions options) => (options.Greedy ?? GreedyOptions.Default).Weights ?? ObjectiveWeights.Default;

    private static AdjustApp ToCommand(RunningAppView app, AppAdjustment result, PlacementPlan plan, IReadOnlyList<NodeSpec> nodes, string trigger)
    {
        var problem = result.Problem!;
        var moves = result.Moves.Select(m => new PlannedMove(m.SubtaskId, nodes[m.FromNode].Id, nodes[m.ToNode].Id,
            problem.Subtasks[m.Subtask].Demand, m.BreakBeforeMake)).ToList();
        var movedTo = moves.ToDictionary(m => m.SubtaskId, m => m.ToNodeId, StringComparer.Ordinal);
        var decision = app.Decision with
        {
            Policy = result.Replacement!.PolicyName,
            Objective = plan.Objective,
            Subtasks = [.. app.Decision.Subtasks.Select(s => movedTo.TryGetValue(s.SubtaskId, out var to) ? s with { NodeId = to, RunnersUp = [] } : s)],
        };
        return new AdjustApp(app.AppId, trigger, Describe(result, problem), moves, decision, result.ObjectiveBefore, result.ObjectiveAfter);
    }

    /// <summary>Why the app is re-placed, in an operator's words: the reason and the constraints that break.</summary>
    public static string Describe(AppAdjustment result, PlacementProblem problem)
    {
        var what = result.Reason switch
        {
            ImpactReason.Violation => "a constraint is broken",
            ImpactReason.ForecastViolation => "a constraint breaks within the forecast horizon",
            ImpactReason.ObjectiveDegraded => "its objective degraded beyond the margin",
            _ => "re-examined",
        };
        var violations = result.Violations.Take(3).Select(v =>
            $"{v.Constraint}{(v.Subtask >= 0 && v.Subtask < problem.Subtasks.Count ? $" of {problem.Subtasks[v.Subtask].Id}" : "")}: {v.Detail}");
        return result.Violations.Count == 0 ? what : $"{what} ({string.Join("; ", violations)})";
    }

    private static FleetForecast Forecast(AdjustmentInput input, RunningFleet fleet, IReadOnlyDictionary<string, int> indexById, IReadOnlyList<LinkSpec> links)
    {
        var nodeAvailable = new Dictionary<int, Resources>();
        var live = input.Nodes.ToDictionary(n => n.Spec.NodeId, StringComparer.Ordinal);
        foreach (var outlook in input.NodeForecasts)
        {
            if (!indexById.TryGetValue(outlook.NodeId, out var v) || !live.TryGetValue(outlook.NodeId, out var node) || !node.Schedulable) continue;
            // The ledger's rule (reported use is other work): everything ComputeNet holds on the node must fit in what the
            // forecast leaves. The fleet counts the node's use now as its background plus the running apps, so the
            // forecast's room is stated on top of that use (raw: negative when the holdings exceed the forecast).
            var placeable = Nodes.NodeCapacityLedger.Placeable(fleet.Nodes[v].Capacity, outlook.Available);
            nodeAvailable[v] = fleet.Nodes[v].Used + placeable - node.Held;
        }
        var linkIndex = new Dictionary<(int, int), int>();
        for (var l = 0; l < links.Count; l++) linkIndex[(links[l].NodeA, links[l].NodeB)] = l;
        var linkForecasts = new Dictionary<int, LinkForecast>();
        foreach (var outlook in input.LinkForecasts)
        {
            if (!indexById.TryGetValue(outlook.Src, out var a) || !indexById.TryGetValue(outlook.Dst, out var b)) continue;
            if (!linkIndex.TryGetValue((Math.Min(a, b), Math.Max(a, b)), out var l)) continue;
            var latency = Math.Max(outlook.LatencyMs, linkForecasts.GetValueOrDefault(l)?.LatencyMs ?? 0);
            if (latency > links[l].LatencyMs) linkForecasts[l] = new LinkForecast(LatencyMs: latency);
        }
        return new FleetForecast(nodeAvailable, linkForecasts);
    }
}
