using System.Diagnostics;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Placement.Generation;

namespace ComputeNet.Actors.Placement.Benchmark;

/// <param name="CpSatReferenceApps">Repaired apps also solved by <see cref="CpSatRepairPolicy"/> (objective + migration cost) for the reference gap and with the fewest moves, and degraded apps it tries to repair; 0 = skip.</param>
public sealed record ReplacementBenchmarkOptions(
    int Seed = 2026,
    int NodeCount = 10_000,
    int Apps = 1_000,
    int Scenarios = 100,
    int CpSatReferenceApps = 10,
    double CpSatTimeLimitSeconds = 2,
    ObjectiveWeights? Weights = null,
    MigrationCostWeights? Migration = null);

[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record ReplacementBenchmarkReport(
    [property: JsonPropertyName("nodes")] int Nodes,
    [property: JsonPropertyName("running_apps")] int RunningApps,
    [property: JsonPropertyName("drift_events")] int DriftEvents,
    [property: JsonPropertyName("affected_apps")] int AffectedApps,
    [property: JsonPropertyName("repaired")] int Repaired,
    [property: JsonPropertyName("degraded")] int Degraded,
    [property: JsonPropertyName("p50_ms_drift_to_plan")] double P50MsDriftToPlan,
    [property: JsonPropertyName("p99_ms_drift_to_plan")] double P99MsDriftToPlan,
    [property: JsonPropertyName("p50_ms_drift_to_plan_thread_cpu")] double P50MsDriftToPlanCpu,
    [property: JsonPropertyName("p99_ms_drift_to_plan_thread_cpu")] double P99MsDriftToPlanCpu,
    [property: JsonPropertyName("p99_ms_drift_to_all_plans")] double P99MsDriftToAllPlans,
    [property: JsonPropertyName("p99_ms_drift_to_all_plans_thread_cpu")] double P99MsDriftToAllPlansCpu,
    [property: JsonPropertyName("p99_ms_impact_analysis")] double P99MsImpactAnalysis,
    [property: JsonPropertyName("max_affected_per_event")] int MaxAffectedPerEvent,
    [property: JsonPropertyName("forced_moves")] int ForcedMoves,
    [property: JsonPropertyName("moves_vs_full")] double MovesVsFull,
    [property: JsonPropertyName("objective_vs_full")] double ObjectiveVsFull,
    [property: JsonPropertyName("greedy_vs_cpsat_total_cost")] double GreedyVsCpSatTotalCost,
    [property: JsonPropertyName("cpsat_reference_apps")] int CpSatReferenceApps,
    [property: JsonPropertyName("fewest_moves_sampled")] int FewestMovesSampled,
    [property: JsonPropertyName("fewer_moves_than_repair")] int FewerMovesThanRepair,
    [property: JsonPropertyName("degraded_sampled")] int DegradedSampled,
    [property: JsonPropertyName("degraded_repairable_by_cpsat")] int DegradedRepairableByCpSat,
    [property: JsonPropertyName("infeasible_plans")] int InfeasiblePlans,
    [property: JsonPropertyName("per_scenario")] IReadOnlyDictionary<string, ScenarioFigures> PerScenario);

public sealed record ScenarioFigures(
    [property: JsonPropertyName("events")] int Events,
    [property: JsonPropertyName("affected_apps")] int AffectedApps,
    [property: JsonPropertyName("moves")] int Moves,
    [property: JsonPropertyName("full_moves")] int FullMoves,
    [property: JsonPropertyName("p99_ms")] double P99Ms);

/// <summary>
/// Runtime-adjustment figures (运行调整), pure. A fleet grown from a real topology runs many apps
/// placed one after another by greedy-objective and tracked by a <see cref="RunningFleet"/>; apps that
/// later placements already broke (their routes lost bandwidth) are settled first. Then independent
/// drift events, each undone (untimed) before the next: a node loses half its capacity, a node dies,
/// a link's latency triples, a region's uplinks lose half their bandwidth. Each event goes through
/// <see cref="RuntimeAdjuster"/> without stability damping, so every trigger acts at once. Drift to
/// plan is timed per plan, from the change to that app's committed placement (impact analysis and the
/// repairs before it included), in wall-clock and thread CPU time. Each repaired app is compared with
/// a full re-placement from scratch by greedy-objective in the same view (its own load taken out),
/// and a few with the CP-SAT repair: its cost, the fewest moves that repair the app (CP-SAT with
/// moves first), and whether it repairs degraded apps that the greedy repair could not.
/// </summary>
public static class ReplacementBenchmark
{
    private static readonly string[] ScenarioNames = ["node_capacity_halved", "node_died", "link_latency_tripled", "region_uplink_halved"];

    public static ReplacementBenchmarkReport Run(ZooTopology topology, ReplacementBenchmarkOptions? options = null, Action<string>? progress = null)
    {
        options ??= new ReplacementBenchmarkOptions();
        var weights = options.Weights ?? ObjectiveWeights.Default;
        var random = new Random(options.Seed);
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed, TargetNodeCount: options.NodeCount, BackgroundLoad: 0.2));
        var running = new RunningFleet(fleet.Nodes, fleet.Network, weights);
        var placer = new ObjectiveGreedyPolicy(new GreedyOptions(Weights: weights));
        // Apps arrive until the fleet runs the number asked for (some are rejected: no room within their deadlines).
        for (var i = 0; running.Count < options.Apps && i < options.Apps * 4; i++)
        {
            var app = AppGenerator.RandomDag(random, random.Next(3, 10), $"run{i}");
            var user = random.Next(fleet.Nodes.Count);
            if (placer.Place(running.ProblemForNew(app.Subtasks, app.Edges, [user])) is PlacementPlan plan)
                running.Add(new RunningApp(app.Name, app.Subtasks, app.Edges, [user], plan.Assignment));
        }
        progress?.Invoke($"{running.Count} apps running on {fleet.Nodes.Count} nodes");

        var adjuster = new RuntimeAdjuster(running, new AdjustmentOptions(Stability: StabilityOptions.None, Migration: options.Migration,
            Greedy: new GreedyOptions(Weights: weights)));
        // Apps placed later take bandwidth from earlier apps' routes and can push their transfer delay
        // over the threshold before any drift: settle those first so that the events measure drift alone.
        var settled = adjuster.Review(running.Apps.Select(a => a.Id).ToArray(), DateTimeOffset.UnixEpoch);
        progress?.Invoke($"settled before drift: {settled.Count(a => a.Committed)} apps repaired, {adjuster.Degraded.Count} degraded");
        var cpSatOptions = new CpSatOptions(TimeLimitSeconds: options.CpSatTimeLimitSeconds, Weights: weights);
        var cpSat = new CpSatRepairPolicy(options.Migration, cpSatOptions);
        var fewestMoves = new CpSatRepairPolicy(options.Migration, cpSatOptions, movesFirst: true);
        // Samples spread over the scenarios (the first events alone would all be capacity losses).
        var samplesPerScenario = (options.CpSatReferenceApps + ScenarioNames.Length - 1) / ScenarioNames.Length;
        var fewestSampled = new int[ScenarioNames.Length];
        var degradedSampledPerScenario = new int[ScenarioNames.Length];
        int degradedSampled = 0, degradedRepairable = 0;
        var fewerMovesThanRepair = 0;
        var eventTimes = new List<double>();
        var eventCpuTimes = new List<double>();
        var planTimes = new List<double>();
        var assessTimes = new List<double>();
        var planCpuTimes = new List<double>();
        var forcedMoves = 0;
        var scenarioTimes = ScenarioNames.ToDictionary(n => n, _ => new List<double>());
        var scenarioCounts = ScenarioNames.ToDictionary(n => n, _ => (Affected: 0, Moves: 0, FullMoves: 0));
        double repairMoves = 0, fullMoves = 0;
        var objectiveRatios = new List<double>();
        var cpSatRatios = new List<double>();
        int affected = 0, repaired = 0, degraded = 0, infeasible = 0, maxAffected = 0;
        var now = DateTimeOffset.UnixEpoch;
        for (var s = 0; s < options.Scenarios; s++)
        {
            var kind = s % ScenarioNames.Length;
            var (change, revert) = Drift(running, kind, random);
            now += TimeSpan.FromMinutes(1);
            // Drift to plan, per plan: from the change until that app's new placement is committed.
            var started = Stopwatch.GetTimestamp();
            var startedCpu = ThreadCpuClock.NowMs();
            var adjustments = new List<AppAdjustment>();
            var assessed = adjuster.Assess(change, now);
            assessTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            foreach (var impact in assessed)
            {
                adjustments.Add(adjuster.Adjust(impact, now));
                planTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                planCpuTimes.Add(ThreadCpuClock.NowMs() - startedCpu);
            }
            eventCpuTimes.Add(ThreadCpuClock.NowMs() - startedCpu);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            eventTimes.Add(elapsed);
            scenarioTimes[ScenarioNames[kind]].Add(elapsed);
            affected += adjustments.Count;
            maxAffected = Math.Max(maxAffected, adjustments.Count);
            var counts = scenarioCounts[ScenarioNames[kind]];
            counts.Affected += adjustments.Count;
            foreach (var adjustment in adjustments)
            {
                if (adjustment.Replacement?.Result is not PlacementPlan plan || adjustment.Problem is not { } problem)
                {
                    degraded++;
                    // Degraded apps keep their placement; would an exact search have found one?
                    if (degradedSampledPerScenario[kind] < samplesPerScenario && adjustment.Problem is { } stuck)
                    {
                        degradedSampledPerScenario[kind]++;
                        degradedSampled++;
                        if (cpSat.Replace(stuck, running.App(adjustment.AppId).Assignment).Result is PlacementPlan) degradedRepairable++;
                    }
                    continue;
                }
                repaired++;
                if (FeasibilityChecker.Default.Validate(problem, plan.Assignment).Count > 0) infeasible++;
                var before = plan.Assignment.ToArray();
                foreach (var move in adjustment.Replacement.Moves) before[move.Subtask] = move.FromNode;
                if (placer.Place(problem) is not PlacementPlan full) continue;
                var fullMoved = full.Assignment.Where((v, k) => v != before[k]).Count();
                repairMoves += adjustment.Replacement.Moves.Count;
                forcedMoves += adjustment.Violations.Where(v => v.Subtask >= 0).Select(v => v.Subtask).Distinct().Count();
                fullMoves += fullMoved;
                counts.Moves += adjustment.Replacement.Moves.Count;
                counts.FullMoves += fullMoved;
                objectiveRatios.Add(plan.Objective.Total / Math.Max(1e-9, full.Objective.Total));
                if (cpSatRatios.Count < options.CpSatReferenceApps
                    && cpSat.Replace(problem, before) is { Result: PlacementPlan } reference)
                    cpSatRatios.Add(adjustment.Replacement.TotalCost / Math.Max(1e-9, reference.TotalCost));
                // Apps the repair did not move need no comparison: no plan moves fewer than none.
                if (adjustment.Replacement.Moves.Count > 0 && fewestSampled[kind] < samplesPerScenario
                    && fewestMoves.Replace(problem, before) is { Result: PlacementPlan { Explanation: not CpSatPolicy.FallbackExplanation } } fewest)
                {
                    fewestSampled[kind]++;
                    // The solver's answer within its time limit and candidate pruning bounds the fewest moves from above.
                    if (fewest.Moves.Count < adjustment.Replacement.Moves.Count) fewerMovesThanRepair++;
                }
            }
            scenarioCounts[ScenarioNames[kind]] = counts;
            // Scenarios are independent: conditions return to normal (untimed) before the next one.
            now += TimeSpan.FromMinutes(1);
            adjuster.OnChange(revert, now);
        }
        return new ReplacementBenchmarkReport(fleet.Nodes.Count, running.Count, eventTimes.Count, affected, repaired, degraded,
            PlacementBenchmark.Percentile(planTimes, 0.5), PlacementBenchmark.Percentile(planTimes, 0.99),
            PlacementBenchmark.Percentile(planCpuTimes, 0.5), PlacementBenchmark.Percentile(planCpuTimes, 0.99),
            PlacementBenchmark.Percentile(eventTimes, 0.99), PlacementBenchmark.Percentile(eventCpuTimes, 0.99),
            PlacementBenchmark.Percentile(assessTimes, 0.99), maxAffected, forcedMoves,
            fullMoves > 0 ? repairMoves / fullMoves : double.NaN,
            objectiveRatios.Count > 0 ? objectiveRatios.Average() : double.NaN,
            cpSatRatios.Count > 0 ? cpSatRatios.Average() : double.NaN, cpSatRatios.Count,
            fewestSampled.Sum(), fewerMovesThanRepair, degradedSampled, degradedRepairable,
            infeasible,
            ScenarioNames.ToDictionary(n => n, n => new ScenarioFigures(scenarioTimes[n].Count, scenarioCounts[n].Affected,
                scenarioCounts[n].Moves, scenarioCounts[n].FullMoves, PlacementBenchmark.Percentile(scenarioTimes[n], 0.99))));
    }

    // Drift lands where a running app is, so that every event has something to do; each comes with its undoing.
    private static (FleetChange Drift, FleetChange Revert) Drift(RunningFleet running, int kind, Random random)
    {
        var apps = running.Apps.ToArray();
        var victim = apps[random.Next(apps.Length)];
        var node = victim.Assignment[random.Next(victim.Assignment.Count)];
        var capacity = running.Nodes[node].Capacity;
        switch (kind)
        {
            case 0:
                return (new NodeCapacityChanged(node, capacity.Scale(0.5)), new NodeCapacityChanged(node, capacity));
            case 1:
                return (new NodeDied(node), new NodeCapacityChanged(node, capacity));
            case 2:
                var links = running.Network.Links;
                var adjacent = Enumerable.Range(0, links.Count).Where(l => links[l].NodeA == node || links[l].NodeB == node).ToArray();
                var link = adjacent[random.Next(adjacent.Length)];
                return (new LinkChanged(link, LatencyMs: links[link].LatencyMs * 3), new LinkChanged(link, LatencyMs: links[link].LatencyMs));
            default:
                var region = running.Nodes[node].Region;
                return (new RegionUplinkChanged(region, 0.5), new RegionUplinkChanged(region, 2));
        }
    }
}
