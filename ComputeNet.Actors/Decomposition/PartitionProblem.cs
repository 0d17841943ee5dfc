using System.Globalization;
using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// A component graph prepared for partitioning under one node class: co-located components are fused into
/// groups first (they must share a subtask anyway), pins and anti-affinity groups become small integers,
/// and traffic becomes an undirected weighted adjacency between groups. Every partitioner works on this.
/// </summary>
internal sealed class PartitionProblem
{
    public const int Dimensions = 4; // CPU cores, memory GB, storage GB, GPUs
    private const double Slack = 1e-9;

    public ComponentGraph Graph { get; }
    public NodeClass Target { get; }
    public int GroupCount { get; }
    public int[] GroupOfComponent { get; }
    public List<int>[] ComponentsOfGroup { get; }
    public double[] Demand { get; }
    public double[] Capacity { get; }
    public int[] PinKey { get; }
    public int[][] AntiGroups { get; }
    public int[] AdjStart { get; }
    public int[] AdjTo { get; }
    public double[] AdjCoupling { get; }
    public double[] AdjTraffic { get; }
    public List<string> Infeasibilities { get; } = [];
    public Dictionary<string, int> ComponentIndex { get; } = new(StringComparer.Ordinal);
    public double LatencyTightnessMs { get; }

    public PartitionProblem(ComponentGraph graph, NodeClass target, double latencyTightnessMs)
    {
        Graph = graph;
        Target = target;
        LatencyTightnessMs = latencyTightnessMs;
        Capacity = [target.CpuCores, target.MemoryGb, target.StorageGb, target.Gpus];
        var components = graph.Components;
        var n = components.Count;
        for (var i = 0; i < n; i++)
        {
            if (!ComponentIndex.TryAdd(components[i].Id, i))
            {
                Infeasibilities.Add($"component id '{components[i].Id}' appears twice");
            }
        }

        // Co-location is a hard "same node" rule, so those components are one unit from the start.
        var root = Enumerable.Range(0, n).ToArray();
        int Find(int x)
        {
            while (root[x] != x)
            {
                root[x] = root[root[x]];
                x = root[x];
            }

            return x;
        }

        var firstInColocation = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            if (components[i].ColocationGroup is { Length: > 0 } group)
            {
                if (firstInColocation.TryGetValue(group, out var first))
                {
                    root[Find(i)] = Find(first);
                }
                else
                {
                    firstInColocation[group] = i;
                }
            }
        }

        GroupOfComponent = new int[n];
        var groupOfRoot = new Dictionary<int, int>();
        for (var i = 0; i < n; i++)
        {
            var r = Find(i);
            if (!groupOfRoot.TryGetValue(r, out var g))
            {
                g = groupOfRoot.Count;
                groupOfRoot[r] = g;
            }

            GroupOfComponent[i] = g;
        }

        GroupCount = groupOfRoot.Count;
        ComponentsOfGroup = new List<int>[GroupCount];
        for (var g = 0; g < GroupCount; g++)
        {
            ComponentsOfGroup[g] = [];
        }

        for (var i = 0; i < n; i++)
        {
            ComponentsOfGroup[GroupOfComponent[i]].Add(i);
        }

        Demand = new double[GroupCount * Dimensions];
        PinKey = new int[GroupCount];
        AntiGroups = new int[GroupCount][];
        var pinKeys = new Dictionary<(PinningKind, string), int>();
        var antiKeys = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var g = 0; g < GroupCount; g++)
        {
            var anti = new List<int>();
            Pinning? groupPin = null;
            foreach (var i in ComponentsOfGroup[g])
            {
                var c = components[i];
                Demand[g * Dimensions] += c.CpuCores;
                Demand[g * Dimensions + 1] += c.MemoryGb;
                Demand[g * Dimensions + 2] += c.StorageGb;
                Demand[g * Dimensions + 3] += c.Gpus;
                if (c.Pinning.IsPinned)
                {
                    if (groupPin is not null && !groupPin.IsCompatibleWith(c.Pinning))
                    {
                        Infeasibilities.Add($"co-location group '{c.ColocationGroup}' joins components {groupPin} and {c.Pinning}");
                    }

                    groupPin ??= c.Pinning;
                }

                if (c.AntiAffinityGroup is { Length: > 0 } a)
                {
                    if (!antiKeys.TryGetValue(a, out var key))
                    {
                        key = antiKeys.Count;
                        antiKeys[a] = key;
                    }

                    if (anti.Contains(key))
                    {
                        Infeasibilities.Add($"co-location group '{c.ColocationGroup}' holds two members of anti-affinity group '{a}'");
                    }
                    else
                    {
                        anti.Add(key);
                    }
                }
            }

            // A sticky unpinned unit of a moving user's app is anchored: it may join unpinned units, never a pinned one.
            if (groupPin is null && graph.UserMoves && ComponentsOfGroup[g].Any(i => components[i].Sticky))
            {
                groupPin = AnchoredPin;
            }

            if (groupPin is not null)
            {
                var key = (groupPin.Kind, (groupPin.Target ?? "").ToLowerInvariant());
                if (!pinKeys.TryGetValue(key, out var pin))
                {
                    pin = pinKeys.Count + 1;
                    pinKeys[key] = pin;
                }

                PinKey[g] = pin;
            }

            anti.Sort();
            AntiGroups[g] = [.. anti];
            if (!FitsAlone(g))
            {
                var names = string.Join("+", ComponentsOfGroup[g].Select(i => components[i].Id));
                Infeasibilities.Add($"{names} needs {Describe(Demand.AsSpan(g * Dimensions, Dimensions))}, more than one {target.Name} node offers ({Describe(Capacity)})");
            }
        }

        // Undirected, aggregated adjacency: partitioning cares about traffic between groups, not its direction.
        var pairs = new Dictionary<(int, int), (double Coupling, double Traffic)>();
        foreach (var e in graph.Edges)
        {
            if (!ComponentIndex.TryGetValue(e.From, out var from) || !ComponentIndex.TryGetValue(e.To, out var to))
            {
                Infeasibilities.Add($"edge {e.From} → {e.To} refers to an unknown component");
                continue;
            }

            var (a, b) = (GroupOfComponent[from], GroupOfComponent[to]);
            if (a == b)
            {
                continue;
            }

            var key = a < b ? (a, b) : (b, a);
            var sum = pairs.GetValueOrDefault(key);
            pairs[key] = (sum.Coupling + Coupling(e), sum.Traffic + Math.Max(0, e.DataRateMbps));
        }

        var degree = new int[GroupCount];
        foreach (var (a, b) in pairs.Keys)
        {
            degree[a]++;
            degree[b]++;
        }

        AdjStart = new int[GroupCount + 1];
        for (var g = 0; g < GroupCount; g++)
        {
            AdjStart[g + 1] = AdjStart[g] + degree[g];
        }

        AdjTo = new int[AdjStart[GroupCount]];
        AdjCoupling = new double[AdjTo.Length];
        AdjTraffic = new double[AdjTo.Length];
        var fill = AdjStart[..GroupCount];
        foreach (var ((a, b), (coupling, traffic)) in pairs)
        {
            Add(a, b, coupling, traffic);
            Add(b, a, coupling, traffic);
        }

        void Add(int from, int to, double coupling, double traffic)
        {
            var at = fill[from]++;
            AdjTo[at] = to;
            AdjCoupling[at] = coupling;
            AdjTraffic[at] = traffic;
        }
    }

    public bool IsFeasible => Infeasibilities.Count == 0;

    /// <summary>Pseudo-pin for sticky components when the user moves; never appears in a subtask's <see cref="Pinning"/>.</summary>
    internal static readonly Pinning AnchoredPin = new() { Kind = PinningKind.Node, Target = "\0sticky-while-the-user-moves" };

    /// <summary>Merge weight of one dependency: its traffic, boosted by how tight its delay threshold is.</summary>
    public double Coupling(ComponentEdge e)
    {
        var rate = Math.Max(0, e.DataRateMbps);
        if (e.TransferDelayThresholdMs is not { } t || t <= 0 || LatencyTightnessMs <= 0)
        {
            return rate;
        }

        // The small constant keeps a zero-traffic but latency-critical dependency worth merging.
        var tightness = LatencyTightnessMs / t;
        return rate * (1 + tightness) + 0.01 * tightness;
    }

    public bool FitsAlone(int g)
    {
        for (var d = 0; d < Dimensions; d++)
        {
            if (Demand[g * Dimensions + d] > Capacity[d] + Slack)
            {
                return false;
            }
        }

        return true;
    }

    public bool FitsTogether(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        for (var d = 0; d < Dimensions; d++)
        {
            if (a[d] + b[d] > Capacity[d] + Slack)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Largest share of the target class a load takes, over all dimensions the class offers.</summary>
    public double SizeFraction(ReadOnlySpan<double> load)
    {
        var fraction = 0.0;
        for (var d = 0; d < Dimensions; d++)
        {
            if (Capacity[d] > 0)
            {
                fraction = Math.Max(fraction, load[d] / Capacity[d]);
            }
        }

        return fraction;
    }

    public double CouplingCut(int[] clusterOfGroup) => Cut(clusterOfGroup, AdjCoupling);

    public double TrafficCut(int[] clusterOfGroup) => Cut(clusterOfGroup, AdjTraffic);

    private double Cut(int[] clusterOfGroup, double[] weights)
    {
        var cut = 0.0;
        for (var g = 0; g < GroupCount; g++)
        {
            for (var at = AdjStart[g]; at < AdjStart[g + 1]; at++)
            {
                var h = AdjTo[at];
                if (h > g && clusterOfGroup[h] != clusterOfGroup[g])
                {
                    cut += weights[at];
                }
            }
        }

        return cut;
    }

    /// <summary>True when every cluster respects the caps, pins and anti-affinity (the invariant every partitioner keeps).</summary>
    public bool IsValidPartition(int[] clusterOfGroup)
    {
        var loads = new Dictionary<int, double[]>();
        var pins = new Dictionary<int, int>();
        var anti = new HashSet<(int, int)>();
        for (var g = 0; g < GroupCount; g++)
        {
            var c = clusterOfGroup[g];
            if (!loads.TryGetValue(c, out var load))
            {
                loads[c] = load = new double[Dimensions];
            }

            for (var d = 0; d < Dimensions; d++)
            {
                load[d] += Demand[g * Dimensions + d];
                if (load[d] > Capacity[d] + 1e-6)
                {
                    return false;
                }
            }

            if (PinKey[g] != 0)
            {
                if (pins.TryGetValue(c, out var pin) && pin != PinKey[g])
                {
                    return false;
                }

                pins[c] = PinKey[g];
            }

            foreach (var a in AntiGroups[g])
            {
                if (!anti.Add((c, a)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    public static string Describe(ReadOnlySpan<double> load) =>
        string.Create(CultureInfo.InvariantCulture, $"{load[0]:0.##} cores, {load[1]:0.##} GB memory, {load[2]:0.##} GB storage, {load[3]:0} GPUs");
}
