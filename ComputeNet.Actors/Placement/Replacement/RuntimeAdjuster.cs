namespace ComputeNet.Actors.Placement;

public sealed record AdjustmentOptions(
    ImpactOptions? Impact = null,
    StabilityOptions? Stability = null,
    MigrationCostWeights? Migration = null,
    GreedyOptions? Greedy = null);

/// <summary>
/// What runtime adjustment did about one app: why it was looked at, what the stability policy said,
/// the re-placement (moves in make-before-break order, or the degradation), the objective of the
/// app's view before and after, and the problem it was solved in (for audits and comparisons).
/// </summary>
public sealed record AppAdjustment(
    string AppId,
    ImpactReason Reason,
    IReadOnlyList<Violation> Violations,
    StabilityDecision Decision,
    ReplacementResult? Replacement,
    double ObjectiveBefore,
    double ObjectiveAfter,
    PlacementProblem? Problem)
{
    /// <summary>The new placement was committed to the running fleet (there was something to move).</summary>
    public bool Committed { get; init; }

    public IReadOnlyList<SubtaskMove> Moves => Committed ? Replacement!.Moves : [];

    /// <summary>No feasible re-placement: which constraint fails; <see cref="ReplacementResult.BestPartial"/> is what can still be served.</summary>
    public PlacementRejection? Degradation => Replacement?.Degradation;
}

/// <summary>
/// Runtime adjustment (运行调整) as one pure step: apply a change to the running fleet, find the
/// affected apps, ask the stability policy, repair each with minimal disruption and commit the new
/// placement. Apps held back (hold time, cool-down, degraded) are re-examined on every later step,
/// so a degraded app recovers when conditions allow. The actors execute the returned moves.
/// </summary>
public sealed class RuntimeAdjuster
{
    private readonly RunningFleet _fleet;
    private readonly AdjustmentOptions _options;
    private readonly GreedyRepairPolicy _repair;
    private readonly SortedSet<string> _waiting = new(StringComparer.Ordinal);

    public RuntimeAdjuster(RunningFleet fleet, AdjustmentOptions? options = null)
    {
        _fleet = fleet;
        _options = options ?? new AdjustmentOptions();
        Stability = new StabilityPolicy(_options.Stability);
        _repair = new GreedyRepairPolicy(_options.Migration, (_options.Greedy ?? GreedyOptions.Default) with { Weights = fleet.Weights });
    }

    public StabilityPolicy Stability { get; }

    /// <summary>Apps triggered but not yet moved (held back or degraded).</summary>
    public IReadOnlyCollection<string> Waiting => _waiting;

    public IReadOnlyList<AppAdjustment> OnChange(FleetChange change, DateTimeOffset now, FleetForecast? forecast = null) =>
        Respond(_fleet.Apply(change), forecast, now);

    /// <summary>No new change: re-examine the waiting apps (and the forecast's).</summary>
    public IReadOnlyList<AppAdjustment> Tick(DateTimeOffset now, FleetForecast? forecast = null) => Respond(FleetDelta.None, forecast, now);

    private IReadOnlyList<AppAdjustment> Respond(FleetDelta delta, FleetForecast? forecast, DateTimeOffset now)
    {
        var ids = _fleet.AppsTouching(delta.Nodes, delta.Links).Union(_waiting).ToArray();
        var impacts = ImpactAnalysis.Examine(_fleet, ids, delta, forecast, _options.Impact);
        Generation.Fleet? forecastView = null;
        var result = new List<AppAdjustment>();
        foreach (var impact in impacts)
        {
            var decision = Stability.Consider(impact.AppId, impact.Pressure, impact.Urgent, now);
            if (impact.Reason == ImpactReason.None)
            {
                _waiting.Remove(impact.AppId);
                continue;
            }
            if (!decision.Act)
            {
                _waiting.Add(impact.AppId);
                result.Add(new AppAdjustment(impact.AppId, impact.Reason, impact.Violations, decision, null, double.NaN, double.NaN, null));
                continue;
            }
            if (impact.Reason == ImpactReason.ForecastViolation) forecastView ??= _fleet.ForecastView(forecast!);
            result.Add(Repair(impact, decision, impact.Reason == ImpactReason.ForecastViolation ? forecastView : null, now));
        }
        return result;
    }

    private AppAdjustment Repair(AffectedApp impact, StabilityDecision decision, Generation.Fleet? forecastView, DateTimeOffset now)
    {
        var app = _fleet.App(impact.AppId);
        var problem = _fleet.ProblemFor(app.Id, forecastView);
        var request = new ReplacementRequest(
            Reconsider: impact.Reason == ImpactReason.ObjectiveDegraded ? impact.Suspects : null,
            ForbiddenNodes: ForbiddenNodes(app, problem, now),
            MustMove: impact.Reason == ImpactReason.ForecastViolation ? impact.Suspects : null);
        var replacement = _repair.Replace(problem, app.Assignment, request);
        var objective = new PlacementObjective(problem, _fleet.Weights);
        var before = objective.Evaluate(app.Assignment).Total;
        if (replacement.Result is not PlacementPlan plan)
        {
            _waiting.Add(app.Id);
            return new AppAdjustment(app.Id, impact.Reason, impact.Violations, decision, replacement, before, before, problem);
        }
        // A plan made for the forecast must hold now as well.
        if (forecastView is not null && FeasibilityChecker.Default.Validate(_fleet.ProblemFor(app.Id), plan.Assignment).Count > 0)
        {
            _waiting.Add(app.Id);
            return new AppAdjustment(app.Id, impact.Reason, impact.Violations,
                StabilityDecision.Wait("the forecast-safe plan does not hold now"), replacement, before, before, problem);
        }
        var committed = replacement.Moves.Count > 0;
        if (committed)
        {
            _fleet.Reassign(app.Id, plan.Assignment);
            Stability.Moved(app.Id, replacement.Moves, now);
        }
        _waiting.Remove(app.Id);
        return new AppAdjustment(app.Id, impact.Reason, impact.Violations, decision, replacement, before, plan.Objective.Total, problem) { Committed = committed };
    }

    private Dictionary<int, IReadOnlySet<int>>? ForbiddenNodes(RunningApp app, PlacementProblem problem, DateTimeOffset now)
    {
        var forbidden = Stability.ForbiddenTargets(app.Id, now);
        if (forbidden.Count == 0) return null;
        var result = new Dictionary<int, IReadOnlySet<int>>();
        for (var k = 0; k < app.Subtasks.Count; k++)
            if (forbidden.TryGetValue(app.Subtasks[k].Id, out var nodeIds))
                result[k] = nodeIds.Where(problem.NodeIndexById.ContainsKey).Select(id => problem.NodeIndexById[id]).ToHashSet();
        return result;
    }
}
