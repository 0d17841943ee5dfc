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
/// placement. Apps the stability policy holds back are re-examined on the first step after their
/// retry time; degraded apps (no feasible placement) on every <see cref="Tick"/> and whenever a change
/// touches them, so they recover when conditions allow. The actors execute the returned moves.
/// </summary>
public sealed class RuntimeAdjuster
{
    private readonly RunningFleet _fleet;
    private readonly AdjustmentOptions _options;
    private readonly GreedyRepairPolicy _repair;
    private readonly Dictionary<string, DateTimeOffset?> _held = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _degraded = new(StringComparer.Ordinal);

    /// <param name="stability">a policy that outlives this adjuster (a live rescheduler rebuilds the fleet per assessment); by default a fresh one.</param>
    public RuntimeAdjuster(RunningFleet fleet, AdjustmentOptions? options = null, StabilityPolicy? stability = null)
    {
        _fleet = fleet;
        _options = options ?? new AdjustmentOptions();
        Stability = stability ?? new StabilityPolicy(_options.Stability);
        _repair = new GreedyRepairPolicy(_options.Migration, (_options.Greedy ?? GreedyOptions.Default) with { Weights = fleet.Weights });
    }

    public StabilityPolicy Stability { get; }

    /// <summary>Apps triggered but held back by the stability policy.</summary>
    public IReadOnlyCollection<string> Held => _held.Keys;

    /// <summary>Apps with no feasible re-placement, kept as they are until conditions allow.</summary>
    public IReadOnlyCollection<string> Degraded => _degraded;

    public IReadOnlyList<AppAdjustment> OnChange(FleetChange change, DateTimeOffset now, FleetForecast? forecast = null) =>
        AdjustAll(Assess(change, now, forecast), now, forecast);

    /// <summary>No new change: re-examine the held apps that are due, the degraded ones, and the forecast's.</summary>
    public IReadOnlyList<AppAdjustment> Tick(DateTimeOffset now, FleetForecast? forecast = null) =>
        AdjustAll(Examine(Due(now).Concat(_degraded), FleetDelta.None, forecast, now), now, forecast);

    /// <summary>Examines the named apps as they are now (e.g. all of them after a restart), and under the forecast when given.</summary>
    public IReadOnlyList<AppAdjustment> Review(IEnumerable<string> appIds, DateTimeOffset now, FleetForecast? forecast = null) =>
        AdjustAll(Examine(appIds, FleetDelta.None, forecast, now), now, forecast);

    /// <summary>
    /// First half of <see cref="OnChange"/>: applies the change and returns the affected apps (plus
    /// held apps now due), for a caller that adjusts them one at a time with <see cref="Adjust"/>.
    /// </summary>
    public IReadOnlyList<AffectedApp> Assess(FleetChange change, DateTimeOffset now, FleetForecast? forecast = null)
    {
        var delta = _fleet.Apply(change);
        return Examine(_fleet.AppsTouching(delta).Concat(Due(now)), delta, forecast, now);
    }

    /// <summary>
    /// Second half: asks the stability policy about one affected app and, if it may act, repairs it
    /// with minimal disruption and commits the new placement.
    /// </summary>
    public AppAdjustment Adjust(AffectedApp impact, DateTimeOffset now, FleetForecast? forecast = null)
    {
        var decision = Stability.Consider(impact.AppId, impact.Pressure, impact.Urgent, now);
        if (!decision.Act)
        {
            Hold(impact.AppId, decision);
            return new AppAdjustment(impact.AppId, impact.Reason, impact.Violations, decision, null, double.NaN, double.NaN, null);
        }
        var forecastView = impact.Reason == ImpactReason.ForecastViolation && forecast is not null ? _fleet.ForecastView(forecast) : null;
        return Repair(impact, decision, forecastView, now);
    }

    private IReadOnlyList<AppAdjustment> AdjustAll(IReadOnlyList<AffectedApp> affected, DateTimeOffset now, FleetForecast? forecast) =>
        affected.Select(impact => Adjust(impact, now, forecast)).ToArray();

    // Apps found fine settle (and feed the hysteresis their all-clear); the affected ones come back.
    private IReadOnlyList<AffectedApp> Examine(IEnumerable<string> appIds, FleetDelta delta, FleetForecast? forecast, DateTimeOffset now)
    {
        var impacts = ImpactAnalysis.Examine(_fleet, appIds.Distinct().ToArray(), delta, forecast, _options.Impact);
        return impacts.Where(impact =>
        {
            if (impact.Reason != ImpactReason.None) return true;
            Stability.Consider(impact.AppId, impact.Pressure, urgent: false, now);
            Settle(impact.AppId, degraded: false);
            return false;
        }).ToArray();
    }

    private IEnumerable<string> Due(DateTimeOffset now) => _held.Where(p => p.Value is null || p.Value <= now).Select(p => p.Key).ToArray();

    private void Hold(string appId, StabilityDecision decision)
    {
        _held[appId] = decision.RetryAt;
        _degraded.Remove(appId);
    }

    private void Settle(string appId, bool degraded)
    {
        _held.Remove(appId);
        if (degraded) _degraded.Add(appId);
        else _degraded.Remove(appId);
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
            Settle(app.Id, degraded: true);
            return new AppAdjustment(app.Id, impact.Reason, impact.Violations, decision, replacement, before, before, problem);
        }
        // A plan made for the forecast must hold now as well.
        if (forecastView is not null && FeasibilityChecker.Default.Validate(_fleet.ProblemFor(app.Id), plan.Assignment).Count > 0)
        {
            Settle(app.Id, degraded: true);
            return new AppAdjustment(app.Id, impact.Reason, impact.Violations,
                StabilityDecision.Wait("the forecast-safe plan does not hold now"), replacement, before, before, problem);
        }
        var committed = replacement.Moves.Count > 0;
        if (committed)
        {
            _fleet.Reassign(app.Id, plan.Assignment);
            Stability.Moved(app.Id, replacement.Moves, now);
        }
        Settle(app.Id, degraded: false);
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

