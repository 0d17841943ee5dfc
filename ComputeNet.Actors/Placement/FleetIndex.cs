using System.Runtime.CompilerServices;

namespace ComputeNet.Actors.Placement;

/// <summary>
/// Per-fleet facts every decision needs, computed once per node list (by identity) instead of once
/// per decision: at 10,000 nodes the O(N) set-up would otherwise dominate a placement. Node lists
/// handed to <see cref="PlacementProblem"/> are therefore treated as immutable snapshots.
/// </summary>
internal sealed class FleetIndex
{
    private static readonly ConditionalWeakTable<IReadOnlyList<NodeSpec>, FleetIndex> Cache = new();

    private readonly Lazy<Dictionary<string, int>> _byId;
    private readonly double[][] _sortedUtilisation = new double[Resources.Dimensions][];
    private readonly double[][] _prefixSum = new double[Resources.Dimensions][];

    private FleetIndex(IReadOnlyList<NodeSpec> nodes)
    {
        Nodes = [.. nodes];
        Free = new Resources[Nodes.Length];
        var utilisation = new List<double>[Resources.Dimensions];
        for (var d = 0; d < Resources.Dimensions; d++) utilisation[d] = [];
        for (var v = 0; v < Nodes.Length; v++)
        {
            var node = Nodes[v];
            Free[v] = node.Free;
            var used = node.Capacity - Free[v];
            double max = double.NegativeInfinity, min = double.PositiveInfinity;
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                if (node.Capacity[d] <= 0) continue;
                CapacitySum[d] += node.Capacity[d];
                UsedSum[d] += used[d];
                NodesWithDimension[d]++;
                var u = used[d] / node.Capacity[d];
                utilisation[d].Add(u);
                max = Math.Max(max, u);
                min = Math.Min(min, u);
            }
            if (max > min) BaselineRangeSum += max - min;
        }
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            var sorted = utilisation[d].ToArray();
            Array.Sort(sorted);
            _sortedUtilisation[d] = sorted;
            var prefix = new double[sorted.Length + 1];
            for (var i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
            _prefixSum[d] = prefix;
        }
        _byId = new(() =>
        {
            var byId = new Dictionary<string, int>(Nodes.Length);
            for (var v = 0; v < Nodes.Length; v++) byId[Nodes[v].Id] = v;
            return byId;
        });
    }

    public static FleetIndex For(IReadOnlyList<NodeSpec> nodes) => Cache.GetValue(nodes, n => new FleetIndex(n));

    public NodeSpec[] Nodes { get; }

    public Resources[] Free { get; }

    public double[] CapacitySum { get; } = new double[Resources.Dimensions];

    public double[] UsedSum { get; } = new double[Resources.Dimensions];

    public int[] NodesWithDimension { get; } = new int[Resources.Dimensions];

    /// <summary>Σ over nodes of (max − min) utilisation across dimensions, before any plan.</summary>
    public double BaselineRangeSum { get; }

    public IReadOnlyDictionary<string, int> NodeIndexById => _byId.Value;

    /// <summary>Σ_v |u_vd − mean| over nodes having dimension d, before any plan: O(log N) by prefix sums.</summary>
    public double DeviationSum(int d, double mean)
    {
        var sorted = _sortedUtilisation[d];
        var prefix = _prefixSum[d];
        var below = LowerBound(sorted, mean);
        var sumBelow = prefix[below];
        var sumAbove = prefix[sorted.Length] - sumBelow;
        return mean * below - sumBelow + sumAbove - mean * (sorted.Length - below);
    }

    private static int LowerBound(double[] sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (sorted[mid] < value) low = mid + 1;
            else high = mid;
        }
        return low;
    }
}
