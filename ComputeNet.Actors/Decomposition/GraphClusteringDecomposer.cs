using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// 基于图聚类的解构: graph-clustering decomposition. Co-located components are fused, then clusters are merged
/// agglomeratively by coupling (traffic boosted by latency tightness) under the target class's caps, pins and
/// anti-affinity, then refined with single moves and Kernighan–Lin swaps, and merged again where room opened.
/// Several restarts with different merge scores (and seeded noise) run; the lowest coupling cut wins.
/// Deterministic for a given <see cref="DecompositionOptions.Seed"/>.
/// </summary>
public static class GraphClusteringDecomposer
{
    public const string MethodName = "graph-clustering";

    private static readonly MergeScore[] Scores = [MergeScore.WeightPerSize, MergeScore.Weight, MergeScore.WeightPerSizeSum, MergeScore.Modularity];

    public static Decomposition Decompose(ComponentGraph graph, NodeClass target, DecompositionOptions? options = null)
    {
        options ??= DecompositionOptions.Default;
        var problem = new PartitionProblem(graph, target, options.LatencyTightnessMs);
        if (!problem.IsFeasible)
        {
            return DecompositionBuilder.Infeasible(problem, MethodName);
        }

        return DecompositionBuilder.Build(problem, Partition(problem, options), MethodName);
    }

    internal static int[] Partition(PartitionProblem problem, DecompositionOptions options)
    {
        var n = problem.GroupCount;
        // Small graphs get many restarts (cheap); large ones few, to stay well inside the 200 ms budget at 1,000 components.
        var restarts = options.Restarts ?? (n <= 30 ? 32 : n <= 200 ? 12 : n <= 600 ? 6 : 2);
        var random = new Random(options.Seed);
        var identity = Enumerable.Range(0, n).ToArray();
        int[]? best = null;
        var bestCut = double.PositiveInfinity;
        var bestCount = int.MaxValue;
        for (var r = 0; r < Math.Max(1, restarts); r++)
        {
            var score = Scores[r % Scores.Length];
            // The first round of each score is noise-free; later ones perturb scores to explore other merge orders.
            var noisy = r >= Scores.Length;
            var cluster = Partitioning.Agglomerate(problem, identity, score, noisy ? random : null, noisy ? 0.35 : 0);
            for (var round = 0; round < 4; round++)
            {
                Partitioning.Refine(problem, cluster, random, maxPasses: 8);
                var merged = Partitioning.Agglomerate(problem, cluster, score, null, 0);
                var before = cluster.Max();
                cluster = merged;
                if (merged.Max() == before)
                {
                    break;
                }
            }

            var cut = problem.CouplingCut(cluster);
            var count = cluster.Length == 0 ? 0 : cluster.Max() + 1;
            if (cut < bestCut - 1e-9 || (Math.Abs(cut - bestCut) <= 1e-9 && count < bestCount))
            {
                (best, bestCut, bestCount) = (cluster, cut, count);
            }
        }

        // One more start from the spectral ordering (small and medium graphs only).
        if (options.Spectral && SpectralOrdering.InitialPartition(problem) is { } spectral)
        {
            var cluster = Partitioning.Agglomerate(problem, spectral, MergeScore.WeightPerSize, null, 0);
            for (var round = 0; round < 4; round++)
            {
                Partitioning.Refine(problem, cluster, random, maxPasses: 8);
                var merged = Partitioning.Agglomerate(problem, cluster, MergeScore.WeightPerSize, null, 0);
                var before = cluster.Max();
                cluster = merged;
                if (merged.Max() == before)
                {
                    break;
                }
            }

            var cut = problem.CouplingCut(cluster);
            var count = cluster.Max() + 1;
            if (cut < bestCut - 1e-9 || (Math.Abs(cut - bestCut) <= 1e-9 && count < bestCount))
            {
                (best, bestCut, bestCount) = (cluster, cut, count);
            }
        }

        best ??= identity;
        // Destroy and repair (large-neighbourhood search): dissolve a cluster and its closest neighbour back into
        // groups, re-merge with a perturbed score, refine, keep it if the cut drops. Escapes the local optima
        // that single moves and swaps cannot leave.
        var rounds = options.RepairRounds ?? (n <= 30 ? 40 : n <= 200 ? 30 : n <= 600 ? 8 : 0);
        for (var round = 0; round < rounds; round++)
        {
            var candidate = Repair(problem, best, random, Scores[round % Scores.Length]);
            var cut = problem.CouplingCut(candidate);
            var count = candidate.Max() + 1;
            if (cut < bestCut - 1e-9 || (Math.Abs(cut - bestCut) <= 1e-9 && count < bestCount))
            {
                (best, bestCut, bestCount) = (candidate, cut, count);
            }
        }

        return best;
    }

    private static int[] Repair(PartitionProblem problem, int[] partition, Random random, MergeScore score)
    {
        var n = problem.GroupCount;
        var seed = partition[random.Next(n)];
        // The neighbouring cluster that talks most with the seed cluster.
        var connection = new Dictionary<int, double>();
        for (var g = 0; g < n; g++)
        {
            if (partition[g] != seed)
            {
                continue;
            }

            for (var at = problem.AdjStart[g]; at < problem.AdjStart[g + 1]; at++)
            {
                var c = partition[problem.AdjTo[at]];
                if (c != seed)
                {
                    connection[c] = connection.GetValueOrDefault(c) + problem.AdjCoupling[at];
                }
            }
        }

        var dissolved = new HashSet<int> { seed };
        foreach (var c in connection.OrderByDescending(x => x.Value).Take(random.Next(1, 3)).Select(x => x.Key))
        {
            dissolved.Add(c);
        }

        var start = new int[n];
        for (var g = 0; g < n; g++)
        {
            start[g] = dissolved.Contains(partition[g]) ? n + g : partition[g];
        }

        var candidate = Partitioning.Agglomerate(problem, start, score, random, 0.35);
        Partitioning.Refine(problem, candidate, random, maxPasses: 8);
        return Partitioning.Agglomerate(problem, candidate, score, null, 0);
    }
}

/// <summary>
/// The benchmark's baseline: greedy edge contraction, heaviest coupling first, under the same caps, pins,
/// anti-affinity and co-location as <see cref="GraphClusteringDecomposer"/>, with no refinement.
/// </summary>
public static class GreedyContractionDecomposer
{
    public const string MethodName = "greedy-contraction";

    public static Decomposition Decompose(ComponentGraph graph, NodeClass target, DecompositionOptions? options = null)
    {
        var problem = new PartitionProblem(graph, target, (options ?? DecompositionOptions.Default).LatencyTightnessMs);
        if (!problem.IsFeasible)
        {
            return DecompositionBuilder.Infeasible(problem, MethodName);
        }

        var identity = Enumerable.Range(0, problem.GroupCount).ToArray();
        return DecompositionBuilder.Build(problem, Partitioning.Agglomerate(problem, identity, MergeScore.Weight, null, 0), MethodName);
    }
}

/// <summary>
/// 多粒度解构: the same app decomposed for several node classes (device / edge / cloud caps), finest first.
/// A class too small for some component yields a decomposition listing its infeasibilities instead of subtasks.
/// </summary>
public static class MultiGranularityDecomposer
{
    public static MultiGranularityDecomposition Decompose(ComponentGraph graph, IEnumerable<NodeClass> classes, DecompositionOptions? options = null) =>
        new(graph.Name, [.. classes.OrderBy(c => c.CpuCores).ThenBy(c => c.MemoryGb).Select(c => GraphClusteringDecomposer.Decompose(graph, c, options))]);

    public static MultiGranularityDecomposition Decompose(AppSpec spec, NodeClassCatalog catalog, DecompositionOptions? options = null) =>
        Decompose(ComponentGraph.FromSpec(spec), catalog.Classes, options);
}
