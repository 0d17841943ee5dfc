using MathNet.Numerics.LinearAlgebra;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// Spectral start for graph clustering: groups ordered by the Fiedler vector of the coupling graph's Laplacian
/// (neighbours in the order are tightly coupled), then cut greedily into feasible runs. One more, structurally
/// different, starting point for merging and refinement.
/// </summary>
internal static class SpectralOrdering
{
    /// <summary>Above this many groups the dense eigen-decomposition (cubic) costs more than it helps.</summary>
    public const int MaxGroups = 300;

    public static int[]? InitialPartition(PartitionProblem p)
    {
        var n = p.GroupCount;
        if (n < 3 || n > MaxGroups)
        {
            return null;
        }

        var laplacian = Matrix<double>.Build.Dense(n, n);
        for (var g = 0; g < n; g++)
        {
            for (var at = p.AdjStart[g]; at < p.AdjStart[g + 1]; at++)
            {
                var w = p.AdjCoupling[at];
                laplacian[g, p.AdjTo[at]] -= w;
                laplacian[g, g] += w;
            }
        }

        var evd = laplacian.Evd(Symmetricity.Symmetric);
        // Second-smallest eigenvalue's vector; the smallest belongs to the constant vector.
        var order = Enumerable.Range(0, n).OrderBy(i => evd.EigenValues[i].Real).ToArray();
        var fiedler = evd.EigenVectors.Column(order[1]);
        var sequence = Enumerable.Range(0, n).OrderBy(g => fiedler[g]).ThenBy(g => g).ToArray();

        // Cut the ordering into runs that fit one subtask and stay connected (each newcomer talks to the run),
        // so unrelated components are never packed together just because they sit side by side in the order.
        var cluster = new int[n];
        var current = -1;
        var members = new List<int>();
        var inRun = new HashSet<int>();
        foreach (var g in sequence)
        {
            var linked = false;
            for (var at = p.AdjStart[g]; at < p.AdjStart[g + 1] && !linked; at++)
            {
                linked = p.AdjCoupling[at] > 0 && inRun.Contains(p.AdjTo[at]);
            }

            members.Add(g);
            if (current < 0 || !linked || !FitsAsOne(p, members))
            {
                current++;
                members.Clear();
                members.Add(g);
                inRun.Clear();
            }

            inRun.Add(g);
            cluster[g] = current;
        }

        return cluster;
    }

    private static bool FitsAsOne(PartitionProblem p, List<int> members)
    {
        Span<double> load = stackalloc double[PartitionProblem.Dimensions];
        var pin = 0;
        var anti = new HashSet<int>();
        foreach (var g in members)
        {
            for (var d = 0; d < PartitionProblem.Dimensions; d++)
            {
                load[d] += p.Demand[g * PartitionProblem.Dimensions + d];
                if (load[d] > p.Capacity[d] + 1e-9)
                {
                    return false;
                }
            }

            if (p.PinKey[g] != 0)
            {
                if (pin != 0 && pin != p.PinKey[g])
                {
                    return false;
                }

                pin = p.PinKey[g];
            }

            foreach (var a in p.AntiGroups[g])
            {
                if (!anti.Add(a))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
