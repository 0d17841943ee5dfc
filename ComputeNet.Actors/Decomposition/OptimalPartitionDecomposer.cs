using ComputeNet.Actors.Model.Apps;
using Google.OrTools.Sat;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// The exact reference for small apps: CP-SAT finds the partition with the least coupling cut under the same
/// caps, pins, anti-affinity and co-location. Only for graphs of at most <see cref="MaxComponents"/> components.
/// </summary>
public static class OptimalPartitionDecomposer
{
    public const string MethodName = "cp-sat-optimal";
    public const int MaxComponents = 20;

    /// <summary>The decomposition and whether CP-SAT proved it optimal within the time limit.</summary>
    public static (Decomposition Decomposition, bool ProvenOptimal) Decompose(ComponentGraph graph, NodeClass target, TimeSpan? timeLimit = null, DecompositionOptions? options = null)
    {
        if (graph.Components.Count > MaxComponents)
        {
            throw new ArgumentException($"CP-SAT reference is for at most {MaxComponents} components; '{graph.Name}' has {graph.Components.Count}.", nameof(graph));
        }

        options ??= DecompositionOptions.Default;
        var problem = new PartitionProblem(graph, target, options.LatencyTightnessMs);
        if (!problem.IsFeasible)
        {
            return (DecompositionBuilder.Infeasible(problem, MethodName), true);
        }

        var hint = GraphClusteringDecomposer.Partition(problem, options);
        var (cluster, proven) = Solve(problem, hint, timeLimit ?? TimeSpan.FromSeconds(10));
        return (DecompositionBuilder.Build(problem, cluster, MethodName), proven);
    }

    private static (int[] Cluster, bool Proven) Solve(PartitionProblem p, int[] hint, TimeSpan timeLimit)
    {
        var n = p.GroupCount;
        var model = new CpModel();
        // Cluster k is "opened" by group k (its lowest member): x[g,k] exists only for k ≤ g, which removes label symmetry.
        var x = new BoolVar?[n, n];
        for (var g = 0; g < n; g++)
        {
            for (var k = 0; k <= g; k++)
            {
                x[g, k] = model.NewBoolVar($"x_{g}_{k}");
            }

            model.AddExactlyOne(Enumerable.Range(0, g + 1).Select(k => (ILiteral)x[g, k]!));
            for (var k = 0; k < g; k++)
            {
                model.AddImplication(x[g, k]!, x[k, k]!);
            }
        }

        // Caps, in integer units (1/1000 of a core or GB) so CP-SAT sees exact integers.
        for (var k = 0; k < n; k++)
        {
            for (var d = 0; d < PartitionProblem.Dimensions; d++)
            {
                var vars = new List<BoolVar>();
                var coefficients = new List<long>();
                for (var g = k; g < n; g++)
                {
                    var demand = (long)Math.Ceiling(p.Demand[g * PartitionProblem.Dimensions + d] * 1000 - 1e-6);
                    if (demand > 0)
                    {
                        vars.Add(x[g, k]!);
                        coefficients.Add(demand);
                    }
                }

                if (vars.Count > 0)
                {
                    model.Add(LinearExpr.WeightedSum(vars, coefficients) <= (long)Math.Floor(p.Capacity[d] * 1000 + 1e-6));
                }
            }
        }

        // Incompatible pins and shared anti-affinity groups never share a cluster.
        for (var g = 0; g < n; g++)
        {
            for (var h = g + 1; h < n; h++)
            {
                var pinClash = p.PinKey[g] != 0 && p.PinKey[h] != 0 && p.PinKey[g] != p.PinKey[h];
                if (pinClash || p.AntiGroups[g].Intersect(p.AntiGroups[h]).Any())
                {
                    for (var k = 0; k <= g; k++)
                    {
                        model.AddAtMostOne([x[g, k]!, x[h, k]!]);
                    }
                }
            }
        }

        // Maximise the coupling kept inside clusters (= minimise the cut); weights scaled to integers.
        var maxWeight = p.AdjCoupling.DefaultIfEmpty(0).Max();
        var together = new List<BoolVar>();
        var weights = new List<long>();
        for (var g = 0; g < n; g++)
        {
            for (var at = p.AdjStart[g]; at < p.AdjStart[g + 1]; at++)
            {
                var h = p.AdjTo[at];
                var w = maxWeight > 0 ? (long)Math.Round(p.AdjCoupling[at] / maxWeight * 1_000_000) : 0;
                if (h <= g || w <= 0)
                {
                    continue;
                }

                for (var k = 0; k <= g; k++)
                {
                    var y = model.NewBoolVar($"y_{g}_{h}_{k}");
                    model.AddImplication(y, x[g, k]!);
                    model.AddImplication(y, x[h, k]!);
                    together.Add(y);
                    weights.Add(w);
                }
            }
        }

        if (together.Count > 0)
        {
            model.Maximize(LinearExpr.WeightedSum(together, weights));
        }

        // Hint with the heuristic's partition, relabelled so each cluster is named by its lowest group.
        var lowest = new Dictionary<int, int>();
        for (var g = 0; g < n; g++)
        {
            lowest.TryAdd(hint[g], g);
            var k = lowest[hint[g]];
            for (var kk = 0; kk <= g; kk++)
            {
                model.AddHint(x[g, kk]!, kk == k ? 1 : 0);
            }
        }

        var solver = new CpSolver
        {
            StringParameters = $"max_time_in_seconds:{timeLimit.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} num_workers:2 random_seed:1",
        };
        var status = solver.Solve(model);
        if (status is not (CpSolverStatus.Optimal or CpSolverStatus.Feasible))
        {
            return (hint, false);
        }

        var cluster = new int[n];
        for (var g = 0; g < n; g++)
        {
            for (var k = 0; k <= g; k++)
            {
                if (solver.BooleanValue(x[g, k]!))
                {
                    cluster[g] = k;
                }
            }
        }

        // Rounding of the integer weights could in principle prefer a partition the real weights rank worse; keep the better.
        return p.CouplingCut(cluster) <= p.CouplingCut(hint) + 1e-9 ? (cluster, status == CpSolverStatus.Optimal) : (hint, status == CpSolverStatus.Optimal);
    }
}
