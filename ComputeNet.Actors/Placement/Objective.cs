namespace ComputeNet.Actors.Placement;

/// <summary>Operator-tunable weights of the one objective (lower total is better).</summary>
public sealed record ObjectiveWeights(double NodeImbalance = 1.0, double DimensionImbalance = 0.5, double EnergyPerW = 0.002)
{
    public static readonly ObjectiveWeights Default = new();
}

/// <summary>The objective's terms, kept apart so that a decision can be explained.</summary>
/// <param name="NodeImbalance">Mean absolute deviation of node utilisation from the fleet's utilisation, averaged over resource dimensions (0..1).</param>
/// <param name="DimensionImbalance">Mean over nodes of (max − min) utilisation across that node's dimensions (0..1).</param>
/// <param name="EnergyW">Incremental power of the placed work (linear model), plus idle power of nodes switched from empty to used.</param>
/// <param name="Total">Weighted sum.</param>
public sealed record ObjectiveBreakdown(double NodeImbalance, double DimensionImbalance, double EnergyW, double Total);

/// <summary>
/// The one objective. Utilisation of node v in dimension d is (used + placed) / capacity, where
/// "used" is capacity − free (so forecasts count). Balance is measured as L1 deviation (mean
/// absolute deviation) from the fleet utilisation ū_d = total load / total capacity, which is a
/// constant of the problem: this keeps the objective exactly linearisable for CP-SAT, and it is
/// separable per node so greedy policies can price a candidate in O(dimensions).
/// </summary>
public sealed class PlacementObjective
{
    private readonly PlacementProblem _problem;
    private readonly double[] _fleetUtilisation = new double[Resources.Dimensions];
    private readonly int[] _nodesWithDimension = new int[Resources.Dimensions];
    private readonly double _baselineNodeDeviation;   // Σ_d Σ_v |u_vd − ū_d| / N_d, before placement
    private readonly double _baselineDimensionRange;  // Σ_v range_v, before placement
    private readonly int _dimensionsInUse;

    public PlacementObjective(PlacementProblem problem, ObjectiveWeights? weights = null)
    {
        _problem = problem;
        Weights = weights ?? ObjectiveWeights.Default;
        var fleet = problem.Fleet;
        var load = (double[])fleet.UsedSum.Clone();
        foreach (var subtask in problem.SubtaskArray)
            for (var d = 0; d < Resources.Dimensions; d++) load[d] += subtask.Demand[d];
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            _nodesWithDimension[d] = fleet.NodesWithDimension[d];
            _fleetUtilisation[d] = fleet.CapacitySum[d] > 0 ? load[d] / fleet.CapacitySum[d] : 0;
            if (_nodesWithDimension[d] == 0) continue;
            _dimensionsInUse++;
            _baselineNodeDeviation += fleet.DeviationSum(d, _fleetUtilisation[d]) / _nodesWithDimension[d];
        }
        _baselineDimensionRange = fleet.BaselineRangeSum;
    }

    public ObjectiveWeights Weights { get; }

    /// <summary>ū_d, the utilisation every node would have in a perfect balance.</summary>
    public double FleetUtilisation(int dimension) => _fleetUtilisation[dimension];

    internal int NodesWithDimension(int dimension) => _nodesWithDimension[dimension];

    internal int DimensionsInUse => _dimensionsInUse;

    public ObjectiveBreakdown Evaluate(IReadOnlyList<int> assignment)
    {
        var added = new Dictionary<int, Resources>();
        for (var k = 0; k < assignment.Count; k++)
            if (assignment[k] >= 0) added[assignment[k]] = added.GetValueOrDefault(assignment[k]) + _problem.Subtasks[k].Demand;
        var deviation = _baselineNodeDeviation;
        var range = _baselineDimensionRange;
        var energy = 0.0;
        foreach (var (v, load) in added)
        {
            deviation += NodeDeviation(v, load) - NodeDeviation(v, Resources.Zero);
            range += DimensionRange(v, load) - DimensionRange(v, Resources.Zero);
            energy += EnergyW(v, Resources.Zero, load);
        }
        return Breakdown(deviation, range, energy);
    }

    public ObjectiveBreakdown Evaluate(PartialPlan plan) => Evaluate(plan.Assignment);

    /// <summary>Change of the weighted total if subtask k joins node v in the partial plan.</summary>
    public double Delta(PartialPlan plan, int k, int v)
    {
        var before = plan.AddedLoad(v);
        var after = before + _problem.Subtasks[k].Demand;
        var n = _problem.Nodes.Count;
        return Weights.NodeImbalance * (NodeDeviation(v, after) - NodeDeviation(v, before)) / Math.Max(1, _dimensionsInUse)
             + Weights.DimensionImbalance * (DimensionRange(v, after) - DimensionRange(v, before)) / n
             + Weights.EnergyPerW * (EnergyW(v, Resources.Zero, after) - EnergyW(v, Resources.Zero, before));
    }

    /// <summary>Power the plan adds on node v when its plan load goes from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public double EnergyW(int v, Resources before, Resources after)
    {
        var node = _problem.NodeArray[v];
        if (node.Capacity.CpuCores <= 0) return 0;
        var dynamicW = (node.PeakW - node.IdleW) * (after.CpuCores - before.CpuCores) / node.Capacity.CpuCores;
        var wasEmpty = IsEmptyBeforePlan(v) && before.CpuCores + before.MemoryGb + before.StorageGb + before.Gpus <= 0;
        var isUsed = after.CpuCores + after.MemoryGb + after.StorageGb + after.Gpus > 0;
        return dynamicW + (wasEmpty && isUsed ? node.IdleW : 0);
    }

    /// <summary>A node with nothing running draws no power in this model: its idle power is the price of switching it on.</summary>
    public bool IsEmptyBeforePlan(int v)
    {
        var used = _problem.NodeArray[v].Capacity - _problem.Free[v];
        return used.CpuCores <= 1e-12 && used.MemoryGb <= 1e-12 && used.StorageGb <= 1e-12 && used.Gpus <= 1e-12;
    }

    internal double Utilisation(int v, int d, Resources planLoad)
    {
        var capacity = _problem.NodeArray[v].Capacity[d];
        return capacity <= 0 ? 0 : (capacity - _problem.Free[v][d] + planLoad[d]) / capacity;
    }

    private ObjectiveBreakdown Breakdown(double deviation, double range, double energy)
    {
        var nodeImbalance = deviation / Math.Max(1, _dimensionsInUse);
        var dimensionImbalance = range / Math.Max(1, _problem.Nodes.Count);
        var total = Weights.NodeImbalance * nodeImbalance + Weights.DimensionImbalance * dimensionImbalance + Weights.EnergyPerW * energy;
        return new ObjectiveBreakdown(nodeImbalance, dimensionImbalance, energy, total);
    }

    // Σ_d |u_vd − ū_d| / N_d for one node.
    private double NodeDeviation(int v, Resources planLoad)
    {
        var sum = 0.0;
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            if (_problem.NodeArray[v].Capacity[d] <= 0) continue;
            sum += Math.Abs(Utilisation(v, d, planLoad) - _fleetUtilisation[d]) / _nodesWithDimension[d];
        }
        return sum;
    }

    private double DimensionRange(int v, Resources planLoad)
    {
        double max = double.NegativeInfinity, min = double.PositiveInfinity;
        for (var d = 0; d < Resources.Dimensions; d++)
        {
            if (_problem.NodeArray[v].Capacity[d] <= 0) continue;
            var u = Utilisation(v, d, planLoad);
            max = Math.Max(max, u);
            min = Math.Min(min, u);
        }
        return max > min ? max - min : 0;
    }
}
