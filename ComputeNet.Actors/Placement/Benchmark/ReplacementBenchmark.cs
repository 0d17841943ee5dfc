using System.Diagnostics;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Placement.Generation;

using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement.Benchmark;

public sealed record ReplacementBenchmarkOptions(
    int Seed = 2026,
    int NodeCount = 1_000,
    int Apps = 200,
    int Scenarios = 20,
    ObjectiveWeights? Weights = null,
    MigrationCostWeights? Migration = null);

[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record ReplacementBenchmarkReport(
    [property: JsonPropertyName("running_apps")] int RunningApps,
    [property: JsonPropertyName("affected_apps")] int AffectedApps,
    [property: JsonPropertyName("repaired")] int Repaired,
    [property: JsonPropertyName("p50_ms_drift_to_plan")] double P50MsDriftToPlan,
    [property: JsonPropertyName("p99_ms_drift_to_plan")] double P99MsDriftToPlan,
    [property: JsonPropertyName("moves_vs_full")] double MovesVsFull,
    [property: JsonPropertyName("objective_vs_full")] double ObjectiveVsFull,
    [property: JsonPropertyName("infeasible_plans")] int InfeasiblePlans);

/// <summary>
/// Re-placement figures (运行调整), pure. A fleet with many apps placed by greedy-objective; drift
/// scenarios in turn: a node's forecast drops to 30% of its free capacity, a node dies, a link's
/// latency triples, a region's uplinks lose half their bandwidth. Every app whose plan the drift
/// breaks is repaired by <see cref="GreedyRepairPolicy"/> and, for comparison, re-placed from
/// scratch by greedy-objective, each against the drifted fleet without the app's own load (apps are
/// repaired independently, not committed one after another). Timing covers building the app's
/// problem and the repair.
/// </summary>
public static class ReplacementBenchmark
{
    public static ReplacementBenchmarkReport Run(ZooTopology topology, ReplacementBenchmarkOptions? options = null)
    {
        options ??= new ReplacementBenchmarkOptions();
        var weights = options.Weights ?? ObjectiveWeights.Default;
        var random = new Random(options.Seed);
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed, TargetNodeCount: options.NodeCount, BackgroundLoad: 0.2));
        var placer = new ObjectiveGreedyPolicy(new GreedyOptions(Weights: weights));
        var running = new List<(AppSpec App, int User, int[] Assignment)>();
        for (var i = 0; i < options.Apps; i++)
        {
            var app = AppGenerator.RandomDag(random, random.Next(3, 10), $"run{i}");
            var user = random.Next(fleet.Nodes.Count);
            var problem = InstanceGenerator.Problem(fleet, app, user);
            if (placer.Place(problem) is not PlacementPlan plan) continue;
            running.Add((app, user, [.. plan.Assignment]));
            fleet = fleet.Commit(problem, plan.Assignment);
        }

        var repair = new GreedyRepairPolicy(options.Migration, new GreedyOptions(Weights: weights));
        var times = new List<double>();
        double repairMoves = 0, fullMoves = 0;
        var objectiveRatios = new List<double>();
        int affected = 0, repaired = 0, infeasible = 0;
        for (var s = 0; s < options.Scenarios; s++)
        {
            var drifted = Drift(fleet, running, s % 4, random);
            foreach (var (app, user, assignment) in running)
            {
                var started = Stopwatch.GetTimestamp();
                var problem = WithoutOwnLoad(drifted, app, user, assignment);
                if (FeasibilityChecker.Default.Validate(problem, assignment).Count == 0) continue;
                affected++;
                var result = repair.Replace(problem, assignment);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (result.Result is not PlacementPlan plan) continue;
                if (FeasibilityChecker.Default.Validate(problem, plan.Assignment).Count > 0) infeasible++;
                repaired++;
                if (placer.Place(problem) is not PlacementPlan full) continue;
                repairMoves += result.Moves.Count;
                fullMoves += full.Assignment.Where((v, k) => v != assignment[k]).Count();
                objectiveRatios.Add(plan.Objective.Total / Math.Max(1e-9, full.Objective.Total));
            }
        }
        return new ReplacementBenchmarkReport(running.Count, affected, repaired,
            Percentile(times, 0.5), Percentile(times, 0.99),
            fullMoves > 0 ? repairMoves / fullMoves : double.NaN,
            objectiveRatios.Count > 0 ? objectiveRatios.Average() : double.NaN,
            infeasible);
    }

    private static Fleet Drift(Fleet fleet, List<(AppSpec App, int User, int[] Assignment)> running, int kind, Random random)
    {
        var (_, _, victimPlan) = running[random.Next(running.Count)];
        var node = victimPlan[random.Next(victimPlan.Length)];
        var nodes = fleet.Nodes.ToArray();
        var links = fleet.Network.Links.ToArray();
        switch (kind)
        {
            case 0:
                nodes[node] = nodes[node] with { ForecastAvailable = nodes[node].Free.Scale(0.3) };
                return fleet with { Nodes = nodes };
            case 1:
                nodes[node] = nodes[node] with { Capacity = Resources.Zero, Used = Resources.Zero, ForecastAvailable = null };
                return fleet with { Nodes = nodes };
            case 2:
                var adjacent = Enumerable.Range(0, links.Length).Where(l => links[l].NodeA == node || links[l].NodeB == node).ToArray();
                var link = adjacent[random.Next(adjacent.Length)];
                links[link] = links[link] with { LatencyMs = links[link].LatencyMs * 3 };
                return fleet with { Network = fleet.Network.WithLinks(links) };
            default:
                var region = nodes[node].Region;
                for (var l = 0; l < links.Length; l++)
                {
                    var a = nodes[links[l].NodeA];
                    var b = nodes[links[l].NodeB];
                    if ((a.Region == region) != (b.Region == region) || (a.Region == region && (a.Tier == NodeTier.Cloud || b.Tier == NodeTier.Cloud)))
                        links[l] = links[l] with { BandwidthMbps = links[l].BandwidthMbps / 2 };
                }
                return fleet with { Network = fleet.Network.WithLinks(links) };
        }
    }

    // The app's own load must not count against its own re-placement.
    private static PlacementProblem WithoutOwnLoad(Fleet fleet, AppSpec app, int user, int[] assignment)
    {
        var withOwn = InstanceGenerator.Problem(fleet, app, user);
        var own = new PartialPlan(withOwn, assignment.Select(v => fleet.Nodes[v].Capacity.CpuCores > 0 ? v : -1).ToArray());
        var nodes = fleet.Nodes.ToArray();
        foreach (var v in own.TouchedNodes)
            nodes[v] = nodes[v] with
            {
                Used = Resources.Max(Resources.Zero, nodes[v].Used - own.AddedLoad(v)),
                ForecastAvailable = nodes[v].ForecastAvailable is { } f ? f + own.AddedLoad(v) : null,
            };
        var used = fleet.Network.Links.Select((l, i) => Math.Max(0, l.UsedMbps - own.LinkLoadMbps(i))).ToArray();
        return new PlacementProblem(nodes, fleet.Network.WithLinkUsage(used), app.Subtasks, app.Edges, [user]);
    }

    private static double Percentile(List<double> values, double quantile)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
    }
}
