using ComputeNet.Actors.Model;
using System.Diagnostics;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>One benchmark input: a graph and the node class its subtasks must fit.</summary>
public sealed record BenchmarkGraph(string Name, ComponentGraph Graph, NodeClass Target);

/// <summary>Per-graph figures. Cut fractions are inter-subtask traffic over all traffic; ratios are ours over the baseline.</summary>
public sealed record GraphBenchmarkResult(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("components")] int Components,
    [property: JsonPropertyName("edges")] int Edges,
    [property: JsonPropertyName("total_traffic_mbps")] double TotalTrafficMbps,
    [property: JsonPropertyName("ours_subtasks")] int OursSubtasks,
    [property: JsonPropertyName("ours_cut_fraction")] double OursCutFraction,
    [property: JsonPropertyName("ours_ms")] double OursMs,
    [property: JsonPropertyName("greedy_subtasks")] int GreedySubtasks,
    [property: JsonPropertyName("greedy_cut_fraction")] double GreedyCutFraction,
    [property: JsonPropertyName("greedy_ms")] double GreedyMs,
    [property: JsonPropertyName("optimal_cut_fraction")] double? OptimalCutFraction,
    [property: JsonPropertyName("optimal_proven")] bool? OptimalProven,
    [property: JsonPropertyName("optimal_ms")] double? OptimalMs,
    [property: JsonPropertyName("cut_vs_greedy")] double? CutVsGreedy,
    [property: JsonPropertyName("cut_vs_optimal")] double? CutVsOptimal);

/// <summary>
/// The benchmark's answer. <see cref="CutVsGreedy"/> and <see cref="CutVsOptimal"/> are means of per-graph ratios
/// (lower is better; 1 = as good). A ratio is 1 when both cuts are zero and is left out when only the baseline's is zero.
/// </summary>
public sealed record DecompositionBenchmarkResult(
    [property: JsonPropertyName("graphs")] IReadOnlyList<GraphBenchmarkResult> Graphs,
    [property: JsonPropertyName("cut_vs_greedy")] double CutVsGreedy,
    [property: JsonPropertyName("graphs_vs_greedy")] int GraphsVsGreedy,
    [property: JsonPropertyName("cut_vs_optimal")] double? CutVsOptimal,
    [property: JsonPropertyName("graphs_vs_optimal")] int GraphsVsOptimal,
    [property: JsonPropertyName("optimal_vs_greedy")] double? OptimalVsGreedy,
    [property: JsonPropertyName("optimal_all_proven")] bool OptimalAllProven,
    [property: JsonPropertyName("max_ms_1000_components")] double? MaxMs1000Components,
    [property: JsonPropertyName("max_cpu_ms_1000_components")] double? MaxCpuMs1000Components,
    [property: JsonPropertyName("degenerate_graphs")] IReadOnlyList<string> DegenerateGraphs,
    [property: JsonPropertyName("max_ms_per_graph")] double MaxMsPerGraph);

public sealed record DecompositionBenchmarkOptions
{
    public static readonly DecompositionBenchmarkOptions Default = new();

    /// <summary>CP-SAT time limit per small graph.</summary>
    public TimeSpan OptimalTimeLimit { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Also time a generated 1,000-component graph (the scale target).</summary>
    public bool IncludeThousandComponentGraph { get; init; } = true;

    public int ThousandComponentSeed { get; init; } = 1_000;

    /// <summary>Timed runs of the 1,000-component graph; the maximum is reported.</summary>
    public int ThousandComponentRuns { get; init; } = 3;

    public DecompositionOptions Decomposition { get; init; } = DecompositionOptions.Default;
}

/// <summary>
/// Compares graph clustering with greedy edge contraction (always) and the CP-SAT optimum (≤ 20 components)
/// under identical caps and constraints. Pure apart from reading the stopwatch; prints nothing.
/// </summary>
public static class DecompositionBenchmark
{
    /// <summary>
    /// A target class whose caps are <paramref name="share"/> of the graph's total demand per dimension (but never
    /// below the largest co-located unit), so every method has to cut the graph into several subtasks.
    /// </summary>
    public static BenchmarkGraph WithCapShare(ComponentGraph graph, double share)
    {
        var unbounded = new NodeClass("unbounded", NodeTier.Cloud, double.MaxValue, double.MaxValue, double.MaxValue, int.MaxValue, 1, 1);
        var problem = new PartitionProblem(graph, unbounded, 0);
        var caps = new double[PartitionProblem.Dimensions];
        for (var d = 0; d < PartitionProblem.Dimensions; d++)
        {
            var total = 0.0;
            var largest = 0.0;
            for (var g = 0; g < problem.GroupCount; g++)
            {
                total += problem.Demand[g * PartitionProblem.Dimensions + d];
                largest = Math.Max(largest, problem.Demand[g * PartitionProblem.Dimensions + d]);
            }

            caps[d] = Math.Max(largest, total * share);
        }

        var target = new NodeClass($"cap-{share:0.##}", NodeTier.Edge, caps[0], caps[1], caps[2], (int)Math.Ceiling(caps[3]), 1_000, 0.999);
        return new BenchmarkGraph(graph.Name, graph, target);
    }

    public static DecompositionBenchmarkResult Run(IReadOnlyList<BenchmarkGraph> graphs, DecompositionBenchmarkOptions? options = null)
    {
        options ??= DecompositionBenchmarkOptions.Default;
        var inputs = graphs.ToList();
        double? maxMsThousand = null, maxCpuMsThousand = null;
        var degenerate = new List<string>();
        if (options.IncludeThousandComponentGraph)
        {
            var thousand = SyntheticAppGraphs.Microservices(1_000, options.ThousandComponentSeed, NodeClass.Edge);
            // One untimed run first: the timing is of the algorithm in a warm service, not of JIT compilation.
            GraphClusteringDecomposer.Decompose(thousand, NodeClass.Edge, options.Decomposition);
            // Wall time is what the target means; CPU time of the process is reported beside it because a machine
            // shared with other builds inflates wall time several-fold.
            for (var run = 0; run < Math.Max(1, options.ThousandComponentRuns); run++)
            {
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var (_, ms) = Time(() => GraphClusteringDecomposer.Decompose(thousand, NodeClass.Edge, options.Decomposition));
                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
                maxMsThousand = Math.Max(maxMsThousand ?? 0, ms);
                maxCpuMsThousand = Math.Max(maxCpuMsThousand ?? 0, cpuMs);
            }

            inputs.Add(new BenchmarkGraph(thousand.Name, thousand, NodeClass.Edge));
        }
        else if (inputs.Count > 0)
        {
            GraphClusteringDecomposer.Decompose(inputs[0].Graph, inputs[0].Target, options.Decomposition);
        }

        var results = new List<GraphBenchmarkResult>();
        foreach (var input in inputs)
        {
            var (ours, oursMs) = Time(() => GraphClusteringDecomposer.Decompose(input.Graph, input.Target, options.Decomposition));
            var (greedy, greedyMs) = Time(() => GreedyContractionDecomposer.Decompose(input.Graph, input.Target, options.Decomposition));
            if (!ours.IsFeasible || !greedy.IsFeasible)
            {
                continue; // a class too small for a single component says nothing about partition quality
            }

            if (IsDegenerate(input))
            {
                // No dependency's two ends may ever share a subtask: every method returns the same partition.
                degenerate.Add(input.Name);
                continue;
            }

            double? optimalFraction = null, optimalMs = null, vsOptimal = null;
            bool? proven = null;
            if (input.Graph.Components.Count <= OptimalPartitionDecomposer.MaxComponents)
            {
                var ((optimal, isProven), ms) = Time(() => OptimalPartitionDecomposer.Decompose(input.Graph, input.Target, options.OptimalTimeLimit, options.Decomposition));
                optimalFraction = optimal.CutTrafficFraction;
                optimalMs = ms;
                proven = isProven;
                vsOptimal = Ratio(ours.CutTrafficMbps, optimal.CutTrafficMbps);
            }

            results.Add(new GraphBenchmarkResult(
                input.Name, input.Graph.Components.Count, input.Graph.Edges.Count, ours.TotalTrafficMbps,
                ours.Subtasks.Count, ours.CutTrafficFraction, oursMs,
                greedy.Subtasks.Count, greedy.CutTrafficFraction, greedyMs,
                optimalFraction, proven, optimalMs,
                Ratio(ours.CutTrafficMbps, greedy.CutTrafficMbps), vsOptimal));
        }

        var vsGreedy = results.Where(r => r.CutVsGreedy is not null).Select(r => r.CutVsGreedy!.Value).ToList();
        var vsOptimalAll = results.Where(r => r.CutVsOptimal is not null).Select(r => r.CutVsOptimal!.Value).ToList();
        // How much better than greedy the optimum itself is on the small graphs: the floor for cut_vs_greedy there.
        var optimalVsGreedy = results.Where(r => r.OptimalCutFraction is not null)
            .Select(r => Ratio(r.OptimalCutFraction!.Value, r.GreedyCutFraction)).OfType<double>().ToList();
        return new DecompositionBenchmarkResult(
            results,
            vsGreedy.Count > 0 ? vsGreedy.Average() : 1,
            vsGreedy.Count,
            vsOptimalAll.Count > 0 ? vsOptimalAll.Average() : null,
            vsOptimalAll.Count,
            optimalVsGreedy.Count > 0 ? optimalVsGreedy.Average() : null,
            results.All(r => r.OptimalProven is null or true),
            maxMsThousand,
            maxCpuMsThousand,
            degenerate,
            results.Select(r => r.OursMs).DefaultIfEmpty(0).Max());
    }

    private static bool IsDegenerate(BenchmarkGraph input)
    {
        var p = new PartitionProblem(input.Graph, input.Target, 0);
        for (var g = 0; g < p.GroupCount; g++)
        {
            for (var at = p.AdjStart[g]; at < p.AdjStart[g + 1]; at++)
            {
                var h = p.AdjTo[at];
                var cluster = new int[p.GroupCount];
                for (var i = 0; i < cluster.Length; i++)
                {
                    cluster[i] = i;
                }

                cluster[h] = g;
                if (p.AdjCoupling[at] > 0 && p.IsValidPartition(cluster))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static double? Ratio(double ours, double baseline)
    {
        const double zero = 1e-9;
        if (baseline > zero)
        {
            return ours / baseline;
        }

        return ours <= zero ? 1 : null;
    }

    private static (T Value, double Ms) Time<T>(Func<T> run)
    {
        var watch = Stopwatch.StartNew();
        var value = run();
        return (value, watch.Elapsed.TotalMilliseconds);
    }
}
