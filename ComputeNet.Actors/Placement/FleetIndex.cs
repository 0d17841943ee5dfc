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

    /// <summary>A derived index that has re-sorted nothing: past this many changed nodes it is rebuilt instead.</summary>
    private const int MaxChangedNodes = 512;

    private readonly Lazy<Dictionary<string, int>> _byId;
    private readonly double[][] _sortedUtilisation = new double[Resources.Dimensions][];
    private readonly double[][] _prefixSum = new double[Resources.Dimensions][];

    // For a derived index: the fully built index it came from and the nodes whose usage differs from it.
    private readonly FleetIndex? _root;
    private readonly int[] _changedSinceRoot = [];
    private readonly Dictionary<int, Resources>? _freeSinceRoot;

    private FleetIndex(IReadOnlyList<NodeSpec> nodes)
    {
        Nodes = [.. nodes];
        var free = new Resources[Nodes.Length];
        Free = new NodeFreeTable(free, null);
        var utilisation = new List<double>[Resources.Dimensions];
        for (var d = 0; d < Resources.Dimensions; d++) utilisation[d] = [];
        for (var v = 0; v < Nodes.Length; v++)
        {
            var node = Nodes[v];
            free[v] = node.Free;
            var used = node.Capacity - free[v];
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

    // Derived: a few nodes changed. Shares the root's arrays (what changed is kept aside, no
    // sorting) and corrects the sums for the changed nodes only, so a running app's view of the
    // fleet costs microseconds instead of a full rebuild.
    private FleetIndex(FleetIndex basis, NodeSpec[] nodes, HashSet<int> changed)
    {
        _root = basis._root ?? basis;
        Nodes = nodes;
        _freeSinceRoot = basis._freeSinceRoot is null ? new() : new(basis._freeSinceRoot);
        Array.Copy(basis.CapacitySum, CapacitySum, Resources.Dimensions);
        Array.Copy(basis.UsedSum, UsedSum, Resources.Dimensions);
        Array.Copy(basis.NodesWithDimension, NodesWithDimension, Resources.Dimensions);
        BaselineRangeSum = basis.BaselineRangeSum;
        foreach (var v in changed)
        {
            var before = basis.Nodes[v].Capacity;
            var after = Nodes[v].Capacity;
            var oldFree = basis.Free[v];
            var newFree = Nodes[v].Free;
            _freeSinceRoot[v] = newFree;
            BaselineRangeSum += UtilisationRange(after, newFree) - UtilisationRange(before, oldFree);
            for (var d = 0; d < Resources.Dimensions; d++)
            {
                if (before[d] > 0)
                {
                    CapacitySum[d] -= before[d];
                    UsedSum[d] -= before[d] - oldFree[d];
                    NodesWithDimension[d]--;
                }
                if (after[d] > 0)
                {
                    CapacitySum[d] += after[d];
                    UsedSum[d] += after[d] - newFree[d];
                    NodesWithDimension[d]++;
                }
            }
        }
        _changedSinceRoot = [.. _freeSinceRoot.Keys];
        Free = new NodeFreeTable(_root.Free.RootArray, _freeSinceRoot);
        _byId = basis._byId;
    }

    public static FleetIndex For(IReadOnlyList<NodeSpec> nodes) => Cache.GetValue(nodes, n => new FleetIndex(n));

    /// <summary>
    /// The index of <paramref name="nodes"/>, which differs from this index's nodes only at
    /// <paramref name="changed"/>. Registered so that a
    /// <see cref="PlacementProblem"/> over <paramref name="nodes"/> finds it. Node ids must not change.
    /// </summary>
    public FleetIndex Derive(NodeSpec[] nodes, HashSet<int> changed)
    {
        var derived = changed.Count + _changedSinceRoot.Length > MaxChangedNodes || nodes.Length != Nodes.Length
            ? new FleetIndex(nodes)
            : new FleetIndex(this, nodes, changed);
        Cache.AddOrUpdate(nodes, derived);
        return derived;
    }

    public NodeSpec[] Nodes { get; }

    public NodeFreeTable Free { get; }

    public double[] CapacitySum { get; } = new double[Resources.Dimensions];

    public double[] UsedSum { get; } = new double[Resources.Dimensions];

    public int[] NodesWithDimension { get; } = new int[Resources.Dimensions];

    /// <summary>Σ over nodes of (max − min) utilisation across dimensions, before any plan.</summary>
    public double BaselineRangeSum { get; }

    public IReadOnlyDictionary<string, int> NodeIndexById => _byId.Value;

    /// <summary>Σ_v |u_vd − mean| over nodes having dimension d, before any plan: O(log N) by prefix sums.</summary>
    public double DeviationSum(int d, double mean)
    {
        if (_root is null) return SortedDeviationSum(d, mean);
        var sum = _root.SortedDeviationSum(d, mean);
        foreach (var v in _changedSinceRoot)
        {
            var now = Nodes[v].Capacity[d];
            var then = _root.Nodes[v].Capacity[d];
            if (now > 0) sum += Math.Abs((now - Free[v][d]) / now - mean);
            if (then > 0) sum -= Math.Abs((then - _root.Free[v][d]) / then - mean);
        }
        return sum;
    }

    private static double UtilisationRange(Resources capacity, Resources free)
    {
        double max = double.NegativeInfinity, min = double.PositiveInfinity;
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            if (capacity[d] <= 0) continue;
            var u = (capacity[d] - free[d]) / capacity[d];
            max = Math.Max(max, u);
            min = Math.Min(min, u);
        }
        return max > min ? max - min : 0;
    }

    private double SortedDeviationSum(int d, double mean)
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

/// <summary>What each node offers a plan: the root index's array, with the nodes a derived view changed looked up aside.</summary>
internal sealed class NodeFreeTable(Resources[] root, Dictionary<int, Resources>? changed)
{
    internal Resources[] RootArray { get; } = root;

    public Resources this[int node] => changed is not null && changed.TryGetValue(node, out var free) ? free : RootArray[node];
}
