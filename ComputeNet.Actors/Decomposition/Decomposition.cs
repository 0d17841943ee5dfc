using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// One way to cut an application into subtasks, sized for one node class (a granularity).
/// When <see cref="Infeasibilities"/> is non-empty the app cannot be cut for that class and
/// <see cref="Subtasks"/> is empty.
/// </summary>
public sealed record Decomposition(
    string AppName,
    string Granularity,
    NodeClass TargetClass,
    string Method,
    IReadOnlyList<Subtask> Subtasks,
    IReadOnlyList<SubtaskEdge> SubtaskEdges,
    double TotalTrafficMbps,
    double CutTrafficMbps,
    IReadOnlyList<string> Infeasibilities)
{
    public bool IsFeasible => Infeasibilities.Count == 0;

    /// <summary>Traffic crossing subtasks as a share of all traffic (0 when the app has none).</summary>
    public double CutTrafficFraction => TotalTrafficMbps > 0 ? CutTrafficMbps / TotalTrafficMbps : 0;

    /// <summary>The subtask holding a component.</summary>
    public Subtask SubtaskOf(string componentId) => Subtasks.First(s => s.ComponentIds.Contains(componentId));
}

/// <summary>
/// A unit the scheduler places on one node. Needs are sums over its components; thresholds are the
/// tightest member's. A node meets every member's execution-time threshold exactly when its MIPS per core
/// is at least <see cref="RequiredSpeedMipsPerCore"/>; <see cref="WorkMiPerRequest"/> is the members' sum
/// (the time one request takes if it passes through all of them). <see cref="Rank"/> 1 is the most critical (place first); <see cref="Grade"/> 1 = hard, 2 = medium, 3 = easy.
/// </summary>
public sealed record Subtask(
    string Id,
    IReadOnlyList<string> ComponentIds,
    double CpuCores,
    double MemoryGb,
    double StorageGb,
    int Gpus,
    double WorkMips,
    double WorkMiPerRequest,
    double? ExecutionTimeThresholdMs,
    double RequiredSpeedMipsPerCore,
    double ReliabilityThreshold,
    Pinning Pinning,
    IReadOnlyList<string> AntiAffinityGroups,
    bool Sticky,
    int Grade,
    int Rank,
    double CriticalityScore,
    IReadOnlyList<string> Reasons);

/// <summary>
/// Traffic between two subtasks: rates and bandwidth floors add up, the delay threshold is the tightest
/// of the component dependencies it carries.
/// </summary>
public sealed record SubtaskEdge(
    string From,
    string To,
    double DataRateMbps,
    double? TransferDelayThresholdMs,
    double? BandwidthFloorMbps);

/// <summary>The same app decomposed for several node classes, finest first, so the scheduler can choose.</summary>
public sealed record MultiGranularityDecomposition(string AppName, IReadOnlyList<Decomposition> Granularities)
{
    public Decomposition? For(string granularity) => Granularities.FirstOrDefault(d => d.Granularity == granularity);
}

/// <summary>Tuning for <see cref="GraphClusteringDecomposer"/>; the defaults are what the benchmark measures.</summary>
public sealed record DecompositionOptions
{
    public static readonly DecompositionOptions Default = new();

    /// <summary>
    /// Couples latency into merging: an edge's weight is its rate × (1 + this / threshold ms), so a 2 ms
    /// dependency weighs six times its traffic at the default 10 ms.
    /// </summary>
    public double LatencyTightnessMs { get; init; } = 10;

    /// <summary>Seed of the randomised restarts; fixed so results are reproducible.</summary>
    public int Seed { get; init; } = 17;

    /// <summary>Restarts of merge + refinement; null = chosen from the graph size.</summary>
    public int? Restarts { get; init; }

    /// <summary>Also start from a spectral ordering (MathNet eigen-decomposition of the Laplacian) on graphs of up to 300 units.</summary>
    public bool Spectral { get; init; } = true;

    /// <summary>Destroy-and-repair rounds after the restarts; null = chosen from the graph size.</summary>
    public int? RepairRounds { get; init; }
}
