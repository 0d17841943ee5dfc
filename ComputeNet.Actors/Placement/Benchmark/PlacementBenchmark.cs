using System.Diagnostics;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Placement.Generation;

namespace ComputeNet.Actors.Placement.Benchmark;

/// <param name="Seed">One seed for fleets, apps and user positions.</param>
/// <param name="GapInstances">Small instances solved by every policy and by CP-SAT.</param>
/// <param name="GapSubtasks">Subtask count range of the gap instances' apps.</param>
/// <param name="CpSatTimeLimitSeconds">CP-SAT budget per gap instance.</param>
/// <param name="LoadNodeCount">Fleet size of the rising-load run (the topology grown with edge/device nodes).</param>
/// <param name="MaxSubmissions">Apps submitted per policy in the rising-load run at most.</param>
/// <param name="ScaleNodeCount">Fleet size of the scale run.</param>
/// <param name="ScaleSubtasks">App size of the scale run.</param>
/// <param name="ScaleDecisions">Decisions timed per policy in the scale run.</param>
public sealed record BenchmarkOptions(
    int Seed = 2026,
    int GapInstances = 20,
    int GapSubtasksMin = 3,
    int GapSubtasksMax = 7,
    double CpSatTimeLimitSeconds = 5,
    int LoadNodeCount = 300,
    int MaxSubmissions = 400,
    int ScaleNodeCount = 10_000,
    int ScaleSubtasks = 50,
    int ScaleDecisions = 40,
    ObjectiveWeights? Weights = null);

/// <summary>Acceptance in one band of fleet CPU utilisation (measured before each submission).</summary>
public sealed record AcceptancePoint(
    [property: JsonPropertyName("fleet_cpu_utilisation_from")] double FleetCpuUtilisationFrom,
    [property: JsonPropertyName("submitted")] int Submitted,
    [property: JsonPropertyName("accepted")] int Accepted);

/// <summary>One policy's rising-load run (see <see cref="PlacementBenchmark.RisingLoad"/>).</summary>
public sealed record RisingLoadRun(int Submitted, int Accepted, IReadOnlyList<AcceptancePoint> Curve, int InfeasiblePlans,
    IReadOnlyList<double> LatenciesMs, IReadOnlyList<PlacementRejection> Rejections)
{
    public double Ratio => Submitted == 0 ? 0 : (double)Accepted / Submitted;
}

[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)] // NaN = not measured
public sealed record PolicyFigures(
    [property: JsonPropertyName("policy")] string Policy,
    [property: JsonPropertyName("mean_objective")] double MeanObjective,
    [property: JsonPropertyName("plans_on_gap_instances")] int PlansOnGapInstances,
    [property: JsonPropertyName("mean_gap_to_optimal")] double? MeanGapToOptimal,
    [property: JsonPropertyName("acceptance")] double? AcceptanceRatio,
    [property: JsonPropertyName("acceptance_curve")] IReadOnlyList<AcceptancePoint> AcceptanceCurve,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("p50_ms_10k_nodes")] double? P50MsScale,
    [property: JsonPropertyName("p99_ms_10k_nodes")] double? P99MsScale,
    [property: JsonPropertyName("p50_cpu_ms_10k_nodes")] double? P50CpuMsScale,
    [property: JsonPropertyName("p99_cpu_ms_10k_nodes")] double? P99CpuMsScale,
    [property: JsonPropertyName("acceptance_10k_nodes")] double? AcceptanceScale,
    [property: JsonPropertyName("infeasible_plans")] int InfeasiblePlans,
    [property: JsonPropertyName("rejections_by_constraint")] IReadOnlyDictionary<string, int> RejectionsByConstraint);

[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record PlacementBenchmarkReport(
    [property: JsonPropertyName("topology")] string Topology,
    [property: JsonPropertyName("best_heuristic")] string BestHeuristic,
    [property: JsonPropertyName("gap_best_heuristic")] double GapBestHeuristic,
    [property: JsonPropertyName("acceptance_best_heuristic")] double AcceptanceBestHeuristic,
    [property: JsonPropertyName("p99_ms_10k_nodes")] double P99MsTenThousandNodes,
    [property: JsonPropertyName("p99_cpu_ms_10k_nodes")] double P99CpuMsTenThousandNodes,
    [property: JsonPropertyName("infeasible_plans")] int InfeasiblePlans,
    [property: JsonPropertyName("gap_instances")] int GapInstances,
    [property: JsonPropertyName("gap_instances_proved_optimal")] int ProvedOptimal,
    [property: JsonPropertyName("policies")] IReadOnlyList<PolicyFigures> Policies)
{
    /// <summary>Placements committed per second through the actors (reservation included), fleet at half load; set by the CLI.</summary>
    [JsonPropertyName("placements_per_s")]
    public double? PlacementsPerSecond { get; init; }

    /// <summary>The throughput run behind <see cref="PlacementsPerSecond"/>.</summary>
    [JsonPropertyName("throughput")]
    public object? Throughput { get; init; }
}

/// <summary>
/// The placement benchmark, pure: topology and apps in, figures out (no console, no files). The CLI
/// prints the report as JSON. Three runs, all from one seed:
/// (1) gap: small instances on the topology as it is, every policy and CP-SAT; gap = (h − opt) / opt
///     where CP-SAT proved optimality; "best heuristic" = lowest mean gap (then highest acceptance);
/// (2) rising load: the same stream of apps submitted to a fresh fleet per heuristic, committing
///     each plan, until the fleet's CPU is 95% used, the stream ends, or 25 rejections in a row;
/// (3) scale: the topology grown to 10,000 nodes, a 50-subtask app from random user nodes, after
///     untimed warm-up decisions (<see cref="TimeScaleDecisions"/>); the timing includes building the
///     problem (per-decision work), not building the fleet; wall-clock and thread CPU time are both
///     reported, since shared build machines inflate the former.
/// Every plan is re-validated by the checker and counted in <c>infeasible_plans</c> if it fails.
/// </summary>
public static class PlacementBenchmark
{
    public static PlacementBenchmarkReport Run(ZooTopology topology, BenchmarkOptions? options = null, IReadOnlyList<AppSpec>? realApps = null)
    {
        options ??= new BenchmarkOptions();
        var weights = options.Weights ?? ObjectiveWeights.Default;
        var registry = PolicyRegistry.CreateDefault(new GreedyOptions(Weights: weights),
            new CpSatOptions(TimeLimitSeconds: options.CpSatTimeLimitSeconds, Weights: weights, MaxCandidatesPerSubtask: int.MaxValue));
        var heuristics = registry.HeuristicNames.ToArray();
        var all = heuristics.Append("cp-sat").ToArray();
        var latencies = all.ToDictionary(p => p, _ => new List<double>());
        var objectives = all.ToDictionary(p => p, _ => new List<double>());
        var gaps = all.ToDictionary(p => p, _ => new List<double>());
        var infeasible = all.ToDictionary(p => p, _ => 0);
        var rejections = all.ToDictionary(p => p, _ => new SortedDictionary<string, int>());
        void CountRejection(string policy, PlacementResult result)
        {
            if (result is PlacementRejection r)
                rejections[policy][r.Constraint.ToString()] = rejections[policy].GetValueOrDefault(r.Constraint.ToString()) + 1;
        }

        // (1) Gap instances.
        var proved = 0;
        foreach (var problem in GapProblems(topology, options, realApps))
        {
            var results = new Dictionary<string, PlacementResult>();
            foreach (var name in all)
            {
                var policy = registry.Get(name);
                var started = Stopwatch.GetTimestamp();
                var result = policy.Place(problem);
                latencies[name].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                results[name] = result;
                CountRejection(name, result);
                if (result is PlacementPlan plan)
                {
                    if (FeasibilityChecker.Default.Validate(problem, plan.Assignment).Count > 0) infeasible[name]++;
                    objectives[name].Add(plan.Objective.Total);
                }
            }
            if (results["cp-sat"] is not PlacementPlan { ProvedOptimal: true } optimum) continue;
            proved++;
            foreach (var name in heuristics)
                if (results[name] is PlacementPlan found)
                    gaps[name].Add((found.Objective.Total - optimum.Objective.Total) / Math.Max(1e-9, Math.Abs(optimum.Objective.Total)));
            gaps["cp-sat"].Add(0);
        }

        // (2) Rising load.
        var acceptance = new Dictionary<string, (double Ratio, IReadOnlyList<AcceptancePoint> Curve)>();
        var loadFleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed, TargetNodeCount: Math.Max(options.LoadNodeCount, topology.Nodes.Count), BackgroundLoad: 0));
        var submissions = RisingLoadSubmissions(options.Seed + 1, options.MaxSubmissions, loadFleet.Nodes.Count);
        foreach (var name in heuristics)
        {
            var run = RisingLoad(registry.Get(name), loadFleet, submissions);
            latencies[name].AddRange(run.LatenciesMs);
            infeasible[name] += run.InfeasiblePlans;
            foreach (var rejection in run.Rejections) CountRejection(name, rejection);
            acceptance[name] = (run.Ratio, run.Curve);
        }

        // (3) Scale.
        var scale = new Dictionary<string, (double P50, double P99, double CpuP50, double CpuP99, double Acceptance)>();
        var bigFleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed, TargetNodeCount: options.ScaleNodeCount));
        foreach (var name in heuristics)
        {
            var run = TimeScaleDecisions(registry.Get(name), bigFleet, options);
            foreach (var result in run.Results) CountRejection(name, result);
            infeasible[name] += run.InfeasiblePlans;
            var l = run.Latencies;
            scale[name] = (l.WallP50, l.WallP99, l.CpuP50, l.CpuP99, (double)run.Results.Count(r => r is PlacementPlan) / run.Results.Count);
        }

        var figures = all.Select(name => new PolicyFigures(
            name,
            objectives[name].DefaultIfEmpty(double.NaN).Average(),
            objectives[name].Count,
            gaps[name].Count > 0 ? gaps[name].Average() : null,
            acceptance.TryGetValue(name, out var a) ? a.Ratio : null,
            acceptance.TryGetValue(name, out var c) ? c.Curve : [],
            Percentile(latencies[name], 0.5),
            Percentile(latencies[name], 0.99),
            scale.TryGetValue(name, out var s) ? s.P50 : null,
            scale.TryGetValue(name, out var s2) ? s2.P99 : null,
            scale.TryGetValue(name, out var s4) ? s4.CpuP50 : null,
            scale.TryGetValue(name, out var s5) ? s5.CpuP99 : null,
            scale.TryGetValue(name, out var s3) ? s3.Acceptance : null,
            infeasible[name],
            rejections[name])).ToArray();
        var best = figures.Where(f => f.Policy != "cp-sat")
            .OrderBy(f => f.MeanGapToOptimal ?? double.MaxValue).ThenByDescending(f => f.AcceptanceRatio ?? 0).First();
        return new PlacementBenchmarkReport(
            topology.Name, best.Policy, best.MeanGapToOptimal ?? double.NaN, best.AcceptanceRatio ?? double.NaN,
            best.P99MsScale ?? double.NaN, best.P99CpuMsScale ?? double.NaN, infeasible.Values.Sum(), options.GapInstances, proved, figures);
    }

    /// <summary>
    /// Untimed decisions before a timed series, from their own random stream: a serving scheduler runs
    /// code the tiered JIT has already optimised, while the first decisions after a start run partly
    /// unoptimised code at several times the cost. Measured on the learned policy at 1,000 nodes (rounds
    /// of 40 decisions): the JIT still compiled methods through the first ~100 decisions (round maxima
    /// 70, 35, then 6–7 ms CPU); the heuristics settle sooner.
    /// </summary>
    internal const int WarmUpDecisions = 100;

    /// <summary>
    /// The scale run of one policy on one fleet: <see cref="WarmUpDecisions"/> untimed decisions, then
    /// <see cref="BenchmarkOptions.ScaleDecisions"/> timed ones (the same apps and users for every
    /// policy), each including building its problem; every plan re-validated by the checker.
    /// </summary>
    internal static ScaleRun TimeScaleDecisions(IPlacementPolicy policy, Fleet fleet, BenchmarkOptions options)
    {
        var warmUp = new Random(options.Seed + 3);
        for (var i = 0; i < WarmUpDecisions; i++)
            policy.Place(InstanceGenerator.Problem(fleet, AppGenerator.RandomDag(warmUp, options.ScaleSubtasks, $"warm-up{i}"), warmUp.Next(fleet.Nodes.Count)));
        var random = new Random(options.Seed + 2);
        var latencies = new DecisionLatencies();
        var results = new List<PlacementResult>();
        var infeasible = 0;
        for (var i = 0; i < options.ScaleDecisions; i++)
        {
            var app = AppGenerator.RandomDag(random, options.ScaleSubtasks, $"scale{i}");
            var user = random.Next(fleet.Nodes.Count);
            var (problem, result) = latencies.Time(() =>
            {
                var built = InstanceGenerator.Problem(fleet, app, user);
                return (built, policy.Place(built));
            });
            results.Add(result);
            if (result is PlacementPlan plan && FeasibilityChecker.Default.Validate(problem, plan.Assignment).Count > 0) infeasible++;
        }
        return new ScaleRun(latencies, results, infeasible);
    }

    internal sealed record ScaleRun(DecisionLatencies Latencies, IReadOnlyList<PlacementResult> Results, int InfeasiblePlans);

    /// <summary>The gap run's small instances: the topology as it is, random DAGs and every fourth a real app.</summary>
    public static IReadOnlyList<PlacementProblem> GapProblems(ZooTopology topology, BenchmarkOptions options, IReadOnlyList<AppSpec>? realApps = null)
    {
        var random = new Random(options.Seed);
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed));
        var problems = new List<PlacementProblem>();
        for (var i = 0; i < options.GapInstances; i++)
        {
            var app = i % 4 == 3 && realApps is { Count: > 0 }
                ? realApps[i / 4 % realApps.Count]
                : AppGenerator.RandomDag(random, random.Next(options.GapSubtasksMin, options.GapSubtasksMax + 1), $"gap{i}");
            problems.Add(InstanceGenerator.Problem(fleet, app, random.Next(fleet.Nodes.Count)));
        }
        return problems;
    }

    /// <summary>The rising-load run's app stream: random DAGs of 3–12 subtasks at random user nodes.</summary>
    public static (AppSpec App, int User)[] RisingLoadSubmissions(int seed, int count, int nodeCount)
    {
        var stream = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => (App: AppGenerator.RandomDag(stream, stream.Next(3, 13), $"load{i}"), User: stream.Next(nodeCount)))
            .ToArray();
    }

    /// <summary>
    /// Submits the apps in order to the fleet, committing each plan, until the fleet's CPU is 95% used,
    /// the stream ends, or 25 rejections in a row; acceptance per band of fleet CPU utilisation.
    /// </summary>
    public static RisingLoadRun RisingLoad(IPlacementPolicy policy, Fleet fleet, IReadOnlyList<(AppSpec App, int User)> submissions)
    {
        var bands = new int[10, 2];
        int submitted = 0, accepted = 0, rejectedInARow = 0, infeasible = 0;
        var latencies = new List<double>();
        var rejections = new List<PlacementRejection>();
        foreach (var (app, user) in submissions)
        {
            var utilisation = CpuUtilisation(fleet);
            if (utilisation >= 0.95 || rejectedInARow >= 25) break;
            var problem = InstanceGenerator.Problem(fleet, app, user);
            var started = Stopwatch.GetTimestamp();
            var result = policy.Place(problem);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var band = Math.Min(9, (int)(utilisation * 10));
            submitted++;
            bands[band, 0]++;
            if (result is PlacementPlan plan)
            {
                if (FeasibilityChecker.Default.Validate(problem, plan.Assignment).Count > 0)
                {
                    infeasible++;
                    continue;
                }
                accepted++;
                bands[band, 1]++;
                rejectedInARow = 0;
                fleet = fleet.Commit(problem, plan.Assignment);
            }
            else
            {
                if (result is PlacementRejection rejection) rejections.Add(rejection);
                rejectedInARow++;
            }
        }
        var curve = Enumerable.Range(0, 10).Where(b => bands[b, 0] > 0).Select(b => new AcceptancePoint(b / 10.0, bands[b, 0], bands[b, 1])).ToArray();
        return new RisingLoadRun(submitted, accepted, curve, infeasible, latencies, rejections);
    }

    public static double CpuUtilisation(Fleet fleet)
    {
        double used = 0, capacity = 0;
        foreach (var node in fleet.Nodes)
        {
            used += node.Capacity.CpuCores - node.Free.CpuCores;
            capacity += node.Capacity.CpuCores;
        }
        return capacity <= 0 ? 0 : used / capacity;
    }

    internal static double Percentile(List<double> values, double quantile)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
    }
}
