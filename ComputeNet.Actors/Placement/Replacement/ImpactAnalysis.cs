namespace ComputeNet.Actors.Placement;

public enum ImpactReason
{
    /// <summary>Examined and fine (its pressure still feeds the stability policy's all-clear).</summary>
    None,
    /// <summary>The placement breaks one of the constraints now.</summary>
    Violation,
    /// <summary>It holds now but breaks under the forecast within the horizon: move before the deadline is missed.</summary>
    ForecastViolation,
    /// <summary>It holds, but the app's share of the objective grew beyond the margin.</summary>
    ObjectiveDegraded,
}

/// <param name="ObjectiveMargin">Relative growth of an app's marginal objective over its value when planned that counts as degraded.</param>
/// <param name="MinObjectiveIncrease">Absolute floor of that growth, so that apps with a tiny share do not trigger on noise.</param>
public sealed record ImpactOptions(double ObjectiveMargin = 0.25, double MinObjectiveIncrease = 1e-4)
{
    public static readonly ImpactOptions Default = new();
}

/// <summary>
/// A running app a change affects. <see cref="Pressure"/> is how close it is to its limits (≥ 1 =
/// broken; for a degraded objective, the cost over its threshold), which the stability policy's
/// hysteresis watches. <see cref="Suspects"/> are the subtasks to move (broken now or under the
/// forecast) or to reconsider (on a node whose conditions degraded).
/// </summary>
public sealed record AffectedApp(string AppId, ImpactReason Reason, IReadOnlyList<Violation> Violations, double Pressure, IReadOnlySet<int> Suspects)
{
    /// <summary>The node the app runs on is gone or too small for a subtask: no point waiting.</summary>
    public bool Urgent => Reason == ImpactReason.Violation && Violations.Any(v => v.Constraint is ConstraintKind.NodeCapability or ConstraintKind.Unplaced);
}

/// <summary>
/// Impact analysis (运行调整 trigger): which running apps a change affects. Only apps indexed on the
/// changed nodes and links (and on the forecast's) are examined, each against
/// <see cref="FeasibilityChecker.Default"/> in its own view of the fleet.
/// </summary>
public static class ImpactAnalysis
{
    /// <summary>The apps the change (or the forecast) affects.</summary>
    public static IReadOnlyList<AffectedApp> Find(RunningFleet fleet, FleetDelta delta, FleetForecast? forecast = null, ImpactOptions? options = null) =>
        Examine(fleet, fleet.AppsTouching(delta), delta, forecast, options).Where(a => a.Reason != ImpactReason.None).ToArray();

    /// <summary>
    /// Examines the named apps (e.g. those the stability policy holds back) plus those on the
    /// forecast's nodes and links; apps found fine come back with <see cref="ImpactReason.None"/>.
    /// </summary>
    public static IReadOnlyList<AffectedApp> Examine(RunningFleet fleet, IEnumerable<string> appIds, FleetDelta delta, FleetForecast? forecast = null, ImpactOptions? options = null)
    {
        options ??= ImpactOptions.Default;
        var candidates = new SortedSet<string>(appIds, StringComparer.Ordinal);
        Generation.Fleet? forecastView = null;
        if (forecast is { IsEmpty: false })
        {
            candidates.UnionWith(fleet.AppsTouching(forecast.NodeAvailable.Keys, forecast.Links.Keys));
            forecastView = fleet.ForecastView(forecast);
        }
        var affected = new List<AffectedApp>();
        foreach (var id in candidates)
        {
            var app = fleet.App(id);
            var problem = fleet.ProblemFor(id);
            var violations = FeasibilityChecker.Default.Validate(problem, app.Assignment);
            if (violations.Count > 0)
            {
                affected.Add(new AffectedApp(id, ImpactReason.Violation, violations, Math.Max(1 + 1e-9, Pressure(problem, app.Assignment)), Violators(violations)));
                continue;
            }
            if (forecastView is not null)
            {
                var future = fleet.ProblemFor(id, forecastView);
                var forecastViolations = FeasibilityChecker.Default.Validate(future, app.Assignment);
                if (forecastViolations.Count > 0)
                {
                    affected.Add(new AffectedApp(id, ImpactReason.ForecastViolation, forecastViolations,
                        Math.Max(1 + 1e-9, Pressure(future, app.Assignment)), Violators(forecastViolations)));
                    continue;
                }
            }
            // Only node changes move the objective (it has no network terms).
            var onChangedNodes = Enumerable.Range(0, app.Assignment.Count).Where(k => delta.Nodes.Contains(app.Assignment[k])).ToHashSet();
            var planned = fleet.PlannedCost(id);
            var limit = planned + Math.Max(options.ObjectiveMargin * Math.Abs(planned), options.MinObjectiveIncrease);
            var now = onChangedNodes.Count > 0 ? fleet.MarginalCost(problem, app.Assignment) : planned;
            if (now > limit)
                affected.Add(new AffectedApp(id, ImpactReason.ObjectiveDegraded, [], Math.Abs(limit) > 0 ? now / limit : double.PositiveInfinity, onChangedNodes));
            else
                affected.Add(new AffectedApp(id, ImpactReason.None, [], Pressure(problem, app.Assignment), new HashSet<int>()));
        }
        return affected;
    }

    /// <summary>
    /// How close a placement is to its limits: the largest of each node's load over what it offers
    /// (per dimension) and each edge's transfer delay over its threshold. 1 = at a limit.
    /// </summary>
    public static double Pressure(PlacementProblem problem, IReadOnlyList<int> assignment)
    {
        var pressure = 0.0;
        var load = new Dictionary<int, Resources>();
        for (var k = 0; k < assignment.Count; k++)
            if (assignment[k] >= 0) load[assignment[k]] = load.GetValueOrDefault(assignment[k]) + problem.Subtasks[k].Demand;
        foreach (var (v, sum) in load)
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                if (sum[d] <= 0) continue;
                var free = problem.Free[v][d];
                pressure = Math.Max(pressure, free > 0 ? sum[d] / free : double.PositiveInfinity);
            }
        foreach (var edge in problem.Edges)
        {
            if (double.IsPositiveInfinity(edge.TransferDelayThresholdMs) || edge.TransferDelayThresholdMs <= 0) continue;
            var from = edge.From == SubtaskEdge.User ? problem.UserAccessNodes : [assignment[edge.From]];
            var to = edge.To == SubtaskEdge.User ? problem.UserAccessNodes : [assignment[edge.To]];
            foreach (var a in from)
                foreach (var b in to)
                    if (a >= 0 && b >= 0)
                        pressure = Math.Max(pressure, FeasibilityChecker.TransferDelayMs(problem, edge, a, b) / edge.TransferDelayThresholdMs);
        }
        return pressure;
    }

    private static HashSet<int> Violators(IReadOnlyList<Violation> violations) =>
        violations.Where(v => v.Subtask >= 0).Select(v => v.Subtask).ToHashSet();
}
