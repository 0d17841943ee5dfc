using System.Runtime.CompilerServices;

namespace ComputeNet.Actors.Decomposition;

/// <summary>How agglomerative merging ranks a candidate pair of clusters.</summary>
internal enum MergeScore
{
    /// <summary>Heaviest coupling first: the classic greedy edge contraction.</summary>
    Weight,

    /// <summary>Coupling over the geometric mean of the clusters' size fractions: small, tightly bound pairs first, so big clusters do not fill up early.</summary>
    WeightPerSize,

    /// <summary>Coupling over the summed size fractions.</summary>
    WeightPerSizeSum,

    /// <summary>Coupling over the product of the clusters' total couplings, as in modularity gain.</summary>
    Modularity,
}

/// <summary>The two moves of graph clustering: agglomerative merging and Kernighan–Lin / Fiduccia–Mattheyses style refinement.</summary>
internal static class Partitioning
{
    private const double Epsilon = 1e-9;

    /// <summary>
    /// Merges clusters, best-scored pair first, as long as the pair fits the caps, shares no anti-affinity group
    /// and has compatible pins. A pair refused once stays refused (clusters only grow), so it is dropped.
    /// Starts from <paramref name="initial"/> (a cluster label per group) and returns compact labels.
    /// </summary>
    // Hot loops: compile optimised at once instead of waiting for tiering, which a busy machine starves.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int[] Agglomerate(PartitionProblem p, int[] initial, MergeScore score, Random? noiseSource, double noise)
    {
        var n = p.GroupCount;
        var label = Compact(initial, out var count);
        var load = new double[count * PartitionProblem.Dimensions];
        var pin = new int[count];
        var anti = new HashSet<int>?[count];
        var adjacency = new Dictionary<int, double>[count];
        var degree = new double[count];
        var version = new int[count];
        var mergedInto = Enumerable.Range(0, count).ToArray();
        for (var c = 0; c < count; c++)
        {
            adjacency[c] = [];
        }

        for (var g = 0; g < n; g++)
        {
            var c = label[g];
            for (var d = 0; d < PartitionProblem.Dimensions; d++)
            {
                load[c * PartitionProblem.Dimensions + d] += p.Demand[g * PartitionProblem.Dimensions + d];
            }

            if (p.PinKey[g] != 0)
            {
                pin[c] = p.PinKey[g];
            }

            if (p.AntiGroups[g].Length > 0)
            {
                (anti[c] ??= []).UnionWith(p.AntiGroups[g]);
            }

            for (var at = p.AdjStart[g]; at < p.AdjStart[g + 1]; at++)
            {
                var h = label[p.AdjTo[at]];
                degree[c] += p.AdjCoupling[at];
                if (h != c)
                {
                    adjacency[c][h] = adjacency[c].GetValueOrDefault(h) + p.AdjCoupling[at];
                }
            }
        }

        var queue = new PriorityQueue<(int A, int B, int VersionA, int VersionB), (double, int, int)>();
        double Score(int a, int b, double w)
        {
            var s = score switch
            {
                MergeScore.Weight => w,
                MergeScore.WeightPerSize => w / Math.Sqrt(Math.Max(0.01, p.SizeFraction(load.AsSpan(a * PartitionProblem.Dimensions, PartitionProblem.Dimensions)))
                                                          * Math.Max(0.01, p.SizeFraction(load.AsSpan(b * PartitionProblem.Dimensions, PartitionProblem.Dimensions)))),
                MergeScore.WeightPerSizeSum => w / Math.Max(0.01, p.SizeFraction(load.AsSpan(a * PartitionProblem.Dimensions, PartitionProblem.Dimensions))
                                                                  + p.SizeFraction(load.AsSpan(b * PartitionProblem.Dimensions, PartitionProblem.Dimensions))),
                _ => w / Math.Max(Epsilon, degree[a] * degree[b]),
            };
            return noiseSource is null ? s : s * (1 + noise * (2 * noiseSource.NextDouble() - 1));
        }

        void Push(int a, int b, double w)
        {
            if (w <= 0)
            {
                return; // merging without traffic lowers no cut; leave such pairs to refinement
            }

            var (x, y) = a < b ? (a, b) : (b, a);
            queue.Enqueue((x, y, version[x], version[y]), (-Score(x, y, w), x, y));
        }

        for (var c = 0; c < count; c++)
        {
            foreach (var (h, w) in adjacency[c])
            {
                if (h > c)
                {
                    Push(c, h, w);
                }
            }
        }

        while (queue.TryDequeue(out var pair, out _))
        {
            var (a, b) = (pair.A, pair.B);
            if (mergedInto[a] != a || mergedInto[b] != b || version[a] != pair.VersionA || version[b] != pair.VersionB)
            {
                continue;
            }

            if (!p.FitsTogether(load.AsSpan(a * PartitionProblem.Dimensions, PartitionProblem.Dimensions), load.AsSpan(b * PartitionProblem.Dimensions, PartitionProblem.Dimensions))
                || (pin[a] != 0 && pin[b] != 0 && pin[a] != pin[b])
                || (anti[a] is { } antiA && anti[b] is { } antiB && antiA.Overlaps(antiB)))
            {
                continue;
            }

            // Keep the cluster with more neighbours and fold the other into it (cheaper dictionary updates).
            var (keep, fold) = adjacency[a].Count >= adjacency[b].Count ? (a, b) : (b, a);
            for (var d = 0; d < PartitionProblem.Dimensions; d++)
            {
                load[keep * PartitionProblem.Dimensions + d] += load[fold * PartitionProblem.Dimensions + d];
            }

            if (pin[keep] == 0)
            {
                pin[keep] = pin[fold];
            }

            if (anti[fold] is { } foldAnti)
            {
                (anti[keep] ??= []).UnionWith(foldAnti);
            }

            degree[keep] += degree[fold];
            adjacency[keep].Remove(fold);
            foreach (var (h, w) in adjacency[fold])
            {
                if (h == keep)
                {
                    continue;
                }

                adjacency[keep][h] = adjacency[keep].GetValueOrDefault(h) + w;
                adjacency[h].Remove(fold);
                adjacency[h][keep] = adjacency[h].GetValueOrDefault(keep) + w;
            }

            adjacency[fold].Clear();
            mergedInto[fold] = keep;
            version[keep]++;
            foreach (var (h, w) in adjacency[keep])
            {
                Push(keep, h, w);
            }
        }

        var result = new int[n];
        for (var g = 0; g < n; g++)
        {
            var c = label[g];
            while (mergedInto[c] != c)
            {
                c = mergedInto[c];
            }

            result[g] = c;
        }

        return Compact(result, out _);
    }

    /// <summary>
    /// Moves single groups to the neighbouring cluster they talk to most, and swaps pairs of groups when a
    /// move is blocked only by the cap (the Kernighan–Lin step), while either lowers the coupling cut.
    /// Never breaks caps, pins or anti-affinity. Changes <paramref name="cluster"/> in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Refine(PartitionProblem p, int[] cluster, Random random, int maxPasses)
    {
        const int dims = PartitionProblem.Dimensions;
        var n = p.GroupCount;
        var count = cluster.Length == 0 ? 0 : cluster.Max() + 1;
        var load = new double[count * dims];
        var pinKey = new int[count];
        var pinCount = new int[count];
        var antiCount = new Dictionary<(int Cluster, int Group), int>();
        var members = new List<int>[count];
        var position = new int[n];
        for (var c = 0; c < count; c++)
        {
            members[c] = [];
        }

        for (var g = 0; g < n; g++)
        {
            Join(g, cluster[g]);
        }

        var connection = new double[count];
        var touched = new List<int>();
        var order = Enumerable.Range(0, n).ToArray();
        for (var pass = 0; pass < maxPasses; pass++)
        {
            random.Shuffle(order);
            var improved = false;
            foreach (var g in order)
            {
                var own = cluster[g];
                touched.Clear();
                for (var at = p.AdjStart[g]; at < p.AdjStart[g + 1]; at++)
                {
                    var c = cluster[p.AdjTo[at]];
                    if (connection[c] == 0)
                    {
                        touched.Add(c);
                    }

                    connection[c] += p.AdjCoupling[at];
                }

                var ownConnection = connection[own];
                var best = -1;
                var bestGain = Epsilon;
                foreach (var c in touched)
                {
                    var gain = connection[c] - ownConnection;
                    if (c != own && gain > bestGain && CanMove(g, c, -1))
                    {
                        best = c;
                        bestGain = gain;
                    }
                }

                if (best >= 0)
                {
                    Leave(g);
                    Join(g, best);
                    improved = true;
                }
                else
                {
                    improved |= TrySwap(g, own, ownConnection);
                }

                foreach (var c in touched)
                {
                    connection[c] = 0;
                }
            }

            if (!improved)
            {
                break;
            }
        }

        bool TrySwap(int g, int own, double ownConnection)
        {
            // Only clusters g would gladly join but cannot because they are full.
            foreach (var c in touched.Where(c => c != own && connection[c] - ownConnection > Epsilon).OrderByDescending(c => connection[c]).Take(2))
            {
                var moveGain = connection[c] - ownConnection;
                var scanned = 0;
                foreach (var u in members[c])
                {
                    if (++scanned > 48)
                    {
                        break;
                    }

                    double toOwn = 0, toTheirs = 0, between = 0;
                    for (var at = p.AdjStart[u]; at < p.AdjStart[u + 1]; at++)
                    {
                        var h = p.AdjTo[at];
                        if (h == g)
                        {
                            between += p.AdjCoupling[at];
                        }

                        if (cluster[h] == own)
                        {
                            toOwn += p.AdjCoupling[at];
                        }
                        else if (cluster[h] == c && h != u)
                        {
                            toTheirs += p.AdjCoupling[at];
                        }
                    }

                    // g's link to u counts in toOwn (u sees g in own) and in moveGain (g sees u in c); both vanish after the swap.
                    var gain = moveGain + (toOwn - toTheirs) - 2 * between;
                    if (gain > Epsilon && CanMove(g, c, u) && CanMove(u, own, g))
                    {
                        Leave(g);
                        Leave(u);
                        Join(g, c);
                        Join(u, own);
                        return true;
                    }
                }
            }

            return false;
        }

        // Can group g join cluster c, if `leaving` (a member of c, or -1) leaves it at the same time?
        bool CanMove(int g, int c, int leaving)
        {
            for (var d = 0; d < dims; d++)
            {
                var after = load[c * dims + d] + p.Demand[g * dims + d] - (leaving >= 0 ? p.Demand[leaving * dims + d] : 0);
                if (after > p.Capacity[d] + Epsilon)
                {
                    return false;
                }
            }

            if (p.PinKey[g] != 0)
            {
                var others = pinCount[c] - (leaving >= 0 && p.PinKey[leaving] != 0 ? 1 : 0);
                if (others > 0 && pinKey[c] != p.PinKey[g])
                {
                    return false;
                }
            }

            foreach (var a in p.AntiGroups[g])
            {
                var holders = antiCount.GetValueOrDefault((c, a)) - (leaving >= 0 && Array.BinarySearch(p.AntiGroups[leaving], a) >= 0 ? 1 : 0);
                if (holders > 0)
                {
                    return false;
                }
            }

            return true;
        }

        void Join(int g, int c)
        {
            cluster[g] = c;
            for (var d = 0; d < dims; d++)
            {
                load[c * dims + d] += p.Demand[g * dims + d];
            }

            if (p.PinKey[g] != 0)
            {
                pinKey[c] = p.PinKey[g];
                pinCount[c]++;
            }

            foreach (var a in p.AntiGroups[g])
            {
                antiCount[(c, a)] = antiCount.GetValueOrDefault((c, a)) + 1;
            }

            position[g] = members[c].Count;
            members[c].Add(g);
        }

        void Leave(int g)
        {
            var c = cluster[g];
            for (var d = 0; d < dims; d++)
            {
                load[c * dims + d] -= p.Demand[g * dims + d];
            }

            if (p.PinKey[g] != 0 && --pinCount[c] == 0)
            {
                pinKey[c] = 0;
            }

            foreach (var a in p.AntiGroups[g])
            {
                antiCount[(c, a)]--;
            }

            var list = members[c];
            var last = list[^1];
            list[position[g]] = last;
            position[last] = position[g];
            list.RemoveAt(list.Count - 1);
        }
    }

    /// <summary>Relabels clusters 0..count-1 in order of first appearance, so results are stable.</summary>
    public static int[] Compact(int[] labels, out int count)
    {
        var map = new Dictionary<int, int>();
        var result = new int[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            if (!map.TryGetValue(labels[i], out var c))
            {
                c = map.Count;
                map[labels[i]] = c;
            }

            result[i] = c;
        }

        count = map.Count;
        return result;
    }
}
