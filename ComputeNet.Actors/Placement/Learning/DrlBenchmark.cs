using System.Diagnostics;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Placement.Benchmark;
using ComputeNet.Actors.Placement.Generation;

namespace ComputeNet.Actors.Placement.Learning;

/// <param name="Topology">Network the gap, rising-load and scale runs use (held out from training).</param>
/// <param name="UnseenTopology">Network for <c>unseen_topology_gap</c> (the same as Topology unless another is given).</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record DrlBenchmarkReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("topology")] string Topology,
    [property: JsonPropertyName("best_heuristic")] string BestHeuristic,
    [property: JsonPropertyName("gap_to_optimal")] double GapToOptimal,
    [property: JsonPropertyName("best_heuristic_gap_to_optimal")] double BestHeuristicGapToOptimal,
    [property: JsonPropertyName("gap_instances_proved_optimal")] int ProvedOptimal,
    [property: JsonPropertyName("vs_best_heuristic")] double VsBestHeuristic,
    [property: JsonPropertyName("acceptance")] double Acceptance,
    [property: JsonPropertyName("best_heuristic_acceptance")] double BestHeuristicAcceptance,
    [property: JsonPropertyName("acceptance_gain")] double AcceptanceGain,
    [property: JsonPropertyName("highest_acceptance_heuristic")] string HighestAcceptanceHeuristic,
    [property: JsonPropertyName("highest_heuristic_acceptance")] double HighestHeuristicAcceptance,
    [property: JsonPropertyName("p50_ms_1k_nodes")] double P50MsThousand,
    [property: JsonPropertyName("p99_ms_1k_nodes")] double P99MsThousand,
    [property: JsonPropertyName("p50_ms_10k_nodes")] double P50MsTenThousand,
    [property: JsonPropertyName("p99_ms_10k_nodes")] double P99MsTenThousand,
    [property: JsonPropertyName("p50_cpu_ms_1k_nodes")] double P50CpuMsThousand,
    [property: JsonPropertyName("p99_cpu_ms_1k_nodes")] double P99CpuMsThousand,
    [property: JsonPropertyName("p50_cpu_ms_10k_nodes")] double P50CpuMsTenThousand,
    [property: JsonPropertyName("p99_cpu_ms_10k_nodes")] double P99CpuMsTenThousand,
    [property: JsonPropertyName("best_heuristic_p99_ms_10k_nodes")] double BestHeuristicP99MsTenThousand,
    [property: JsonPropertyName("best_heuristic_p99_cpu_ms_10k_nodes")] double BestHeuristicP99CpuMsTenThousand,
    [property: JsonPropertyName("unseen_topology")] string UnseenTopology,
    [property: JsonPropertyName("unseen_topology_gap")] double UnseenTopologyGap,
    [property: JsonPropertyName("infeasible_plans")] int InfeasiblePlans);

/// <summary>Decision latency of one policy on one fleet size: wall clock and the deciding thread's CPU time.</summary>
public sealed record LatencyFigures(
    [property: JsonPropertyName("nodes")] int Nodes,
    [property: JsonPropertyName("p50_ms")] double WallP50,
    [property: JsonPropertyName("p99_ms")] double WallP99,
    [property: JsonPropertyName("p50_cpu_ms")] double CpuP50,
    [property: JsonPropertyName("p99_cpu_ms")] double CpuP99);

public sealed record DrlLatencyReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("best_heuristic")] string BestHeuristic,
    [property: JsonPropertyName("drl_1k_nodes")] LatencyFigures Thousand,
    [property: JsonPropertyName("best_heuristic_1k_nodes")] LatencyFigures HeuristicThousand,
    [property: JsonPropertyName("drl_10k_nodes")] LatencyFigures TenThousand,
    [property: JsonPropertyName("best_heuristic_10k_nodes")] LatencyFigures HeuristicTenThousand,
    [property: JsonPropertyName("infeasible_plans")] int InfeasiblePlans);

/// <summary>
/// The learned policy against CP-SAT and the heuristics, on the placement benchmark's own instance
/// builders (<see cref="PlacementBenchmark.GapProblems"/>, <see cref="PlacementBenchmark.RisingLoad"/>)
/// and with the same seed: gap to the proved optimum, relative objective against the best heuristic
/// on the same instances, acceptance under rising load, and decision latency for a 50-subtask app on
/// 1,000 and 10,000 nodes (wall clock and thread CPU time).
/// </summary>
public static class DrlBenchmark
{
    public static DrlBenchmarkReport Run(DrlPlacementPolicy drl, ZooTopology topology, ZooTopology? unseen = null,
        BenchmarkOptions? options = null, IReadOnlyList<AppSpec>? realApps = null)
    {
        options ??= new BenchmarkOptions();
        var weights = options.Weights ?? ObjectiveWeights.Default;
        var registry = PolicyRegistry.CreateDefault(new GreedyOptions(Weights: weights),
            new CpSatOptions(TimeLimitSeconds: options.CpSatTimeLimitSeconds, Weights: weights, MaxCandidatesPerSubtask: int.MaxValue));
        var best = registry.Get(DrlPlacementPolicy.FallbackPolicyName);
        var cpSat = registry.Get("cp-sat");
        var infeasible = 0;

        var gap = Gaps(drl, best, cpSat, PlacementBenchmark.GapProblems(topology, options, realApps), ref infeasible);
        var unseenGap = unseen is null ? gap : Gaps(drl, best, cpSat, PlacementBenchmark.GapProblems(unseen, options, realApps), ref infeasible);

        var loadFleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed, TargetNodeCount: Math.Max(options.LoadNodeCount, topology.Nodes.Count), BackgroundLoad: 0));
        var submissions = PlacementBenchmark.RisingLoadSubmissions(options.Seed + 1, options.MaxSubmissions, loadFleet.Nodes.Count);
        var acceptance = registry.HeuristicNames.ToDictionary(n => n, n => PlacementBenchmark.RisingLoad(registry.Get(n), loadFleet, submissions));
        var mine = PlacementBenchmark.RisingLoad(drl, loadFleet, submissions);
        infeasible += mine.InfeasiblePlans;
        var highest = acceptance.MaxBy(p => p.Value.Ratio);

        var latency = Latency(drl, topology, options);
        infeasible += latency.InfeasiblePlans;

        return new DrlBenchmarkReport(
            drl.Description, topology.Name, best.Name,
            gap.Drl, gap.Heuristic, gap.Proved, gap.VsHeuristic,
            mine.Ratio, acceptance[best.Name].Ratio, mine.Ratio - acceptance[best.Name].Ratio,
            highest.Key, highest.Value.Ratio,
            latency.Thousand.WallP50, latency.Thousand.WallP99, latency.TenThousand.WallP50, latency.TenThousand.WallP99,
            latency.Thousand.CpuP50, latency.Thousand.CpuP99, latency.TenThousand.CpuP50, latency.TenThousand.CpuP99,
            latency.HeuristicTenThousand.WallP99, latency.HeuristicTenThousand.CpuP99,
            unseen?.Name ?? topology.Name, unseenGap.Drl, infeasible);
    }

    private static (double Drl, double Heuristic, int Proved, double VsHeuristic) Gaps(
        IPlacementPolicy drl, IPlacementPolicy heuristic, IPlacementPolicy cpSat, IReadOnlyList<PlacementProblem> problems, ref int infeasible)
    {
        var drlGaps = new List<double>();
        var heuristicGaps = new List<double>();
        foreach (var problem in problems)
        {
            var mine = drl.Place(problem);
            if (mine is PlacementPlan p && FeasibilityChecker.Default.Validate(problem, p.Assignment).Count > 0) infeasible++;
            if (cpSat.Place(problem) is not PlacementPlan { ProvedOptimal: true } optimum) continue;
            var scale = Math.Max(1e-9, Math.Abs(optimum.Objective.Total));
            if (mine is PlacementPlan plan) drlGaps.Add((plan.Objective.Total - optimum.Objective.Total) / scale);
            if (heuristic.Place(problem) is PlacementPlan found) heuristicGaps.Add((found.Objective.Total - optimum.Objective.Total) / scale);
        }
        var comparison = PolicyComparison.Measure(drl, heuristic, problems);
        return (Mean(drlGaps), Mean(heuristicGaps), drlGaps.Count, comparison.MeanRelativeImprovement);
    }

    /// <summary>
    /// Decision latency alone (<c>bench drl --latency-only</c>): a 50-subtask app on 1,000 and on
    /// <see cref="BenchmarkOptions.ScaleNodeCount"/> nodes, the learned policy and the best heuristic on the same decisions.
    /// </summary>
    public static DrlLatencyReport Latency(DrlPlacementPolicy drl, ZooTopology topology, BenchmarkOptions? options = null)
    {
        options ??= new BenchmarkOptions();
        var best = new ObjectiveGreedyPolicy(new GreedyOptions(Weights: options.Weights ?? ObjectiveWeights.Default));
        var infeasible = 0;
        var thousand = Timing(drl, topology, 1_000, options, ref infeasible);
        var heuristicThousand = Timing(best, topology, 1_000, options, ref infeasible);
        var tenThousand = Timing(drl, topology, options.ScaleNodeCount, options, ref infeasible);
        var heuristicTenThousand = Timing(best, topology, options.ScaleNodeCount, options, ref infeasible);
        return new DrlLatencyReport(drl.Description, best.Name, thousand, heuristicThousand, tenThousand, heuristicTenThousand, infeasible);
    }

    private static LatencyFigures Timing(IPlacementPolicy policy, ZooTopology topology, int nodes, BenchmarkOptions options, ref int infeasible)
    {
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed, TargetNodeCount: nodes));
        var run = PlacementBenchmark.TimeScaleDecisions(policy, fleet, options);
        infeasible += run.InfeasiblePlans;
        var latencies = run.Latencies;
        return new LatencyFigures(fleet.Nodes.Count, latencies.WallP50, latencies.WallP99, latencies.CpuP50, latencies.CpuP99);
    }

    private static double Mean(List<double> values) => values.Count == 0 ? double.NaN : values.Average();
}
