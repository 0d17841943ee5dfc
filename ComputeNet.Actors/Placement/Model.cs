using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement;

/// <summary>A vector of the four resource dimensions the seed names.</summary>
public readonly record struct Resources(double CpuCores, double MemoryGb, double StorageGb, double Gpus)
{
    public const int Dimensions = 4;

    // Tolerance so that sums of many fractional demands do not fail on rounding noise.
    private const double Epsilon = 1e-9;

    public static Resources Zero => default;

    public double this[int dimension] => dimension switch
    {
        0 => CpuCores,
        1 => MemoryGb,
        2 => StorageGb,
        3 => Gpus,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    public static Resources operator +(Resources a, Resources b) =>
        new(a.CpuCores + b.CpuCores, a.MemoryGb + b.MemoryGb, a.StorageGb + b.StorageGb, a.Gpus + b.Gpus);

    public static Resources operator -(Resources a, Resources b) =>
        new(a.CpuCores - b.CpuCores, a.MemoryGb - b.MemoryGb, a.StorageGb - b.StorageGb, a.Gpus - b.Gpus);

    public static Resources Min(Resources a, Resources b) =>
        new(Math.Min(a.CpuCores, b.CpuCores), Math.Min(a.MemoryGb, b.MemoryGb),
            Math.Min(a.StorageGb, b.StorageGb), Math.Min(a.Gpus, b.Gpus));

    public static Resources Max(Resources a, Resources b) =>
        new(Math.Max(a.CpuCores, b.CpuCores), Math.Max(a.MemoryGb, b.MemoryGb),
            Math.Max(a.StorageGb, b.StorageGb), Math.Max(a.Gpus, b.Gpus));

    public Resources Scale(double factor) => new(CpuCores * factor, MemoryGb * factor, StorageGb * factor, Gpus * factor);

    /// <summary>True when every dimension of this demand fits into <paramref name="available"/>.</summary>
    public bool FitsIn(Resources available) =>
        CpuCores <= available.CpuCores + Epsilon && MemoryGb <= available.MemoryGb + Epsilon &&
        StorageGb <= available.StorageGb + Epsilon && Gpus <= available.Gpus + Epsilon;
}

/// <summary>
/// A compute node as the scheduler sees it. <see cref="ForecastAvailable"/> is the predictor's
/// (算力预测) estimate of what will be free over the plan's horizon; null means "no forecast".
/// </summary>
public sealed record NodeSpec(
    string Id,
    NodeTier Tier,
    string Region,
    Resources Capacity,
    double SpeedMipsPerCore,
    double Reliability,
    double IdleW,
    double PeakW)
{
    public Resources Used { get; init; }

    public Resources? ForecastAvailable { get; init; }

    /// <summary>Images already cached on the node (镜像管理): pulling them again costs nothing.</summary>
    public IReadOnlySet<string> CachedImages { get; init; } = EmptyImages;

    private static readonly IReadOnlySet<string> EmptyImages = new HashSet<string>();

    /// <summary>What a plan may use: min(capacity − used, forecast available), never negative.</summary>
    public Resources Free
    {
        get
        {
            var free = Capacity - Used;
            if (ForecastAvailable is { } forecast) free = Resources.Min(free, forecast);
            return Resources.Min(new Resources(
                Math.Max(0, free.CpuCores), Math.Max(0, free.MemoryGb),
                Math.Max(0, free.StorageGb), Math.Max(0, free.Gpus)), Capacity);
        }
    }
}

/// <summary>An undirected network link between two node indices.</summary>
public sealed record LinkSpec(int NodeA, int NodeB, double BandwidthMbps, double LatencyMs)
{
    /// <summary>Bandwidth already taken by traffic outside this plan.</summary>
    public double UsedMbps { get; init; }

    public double AvailableMbps => Math.Max(0, BandwidthMbps - UsedMbps);
}

/// <summary>Where a subtask may go. All set fields must hold at once.</summary>
public sealed record Pinning
{
    public static readonly Pinning None = new();

    public string? NodeId { get; init; }

    public string? Region { get; init; }

    public NodeTier? Tier { get; init; }

    /// <summary>User-facing subtasks that must run on the user's access node.</summary>
    public bool AtUserAccessNode { get; init; }

    public bool IsNone => NodeId is null && Region is null && Tier is null && !AtUserAccessNode;
}

/// <summary>One subtask of a decomposed application (算力解构 output).</summary>
public sealed record Subtask(string Id, Resources Demand)
{
    /// <summary>Work per request, in million instructions; runs on Demand.CpuCores cores.</summary>
    public double WorkMi { get; init; }

    public double ExecutionTimeThresholdMs { get; init; } = double.PositiveInfinity;

    public double ReliabilityThreshold { get; init; }

    public Pinning Pinning { get; init; } = Pinning.None;

    /// <summary>Subtasks sharing this group must sit on pairwise different nodes.</summary>
    public string? AntiAffinityGroup { get; init; }

    /// <summary>Subtasks sharing this group must sit on one node.</summary>
    public string? ColocationGroup { get; init; }

    /// <summary>Container image (for the migration cost of re-placement).</summary>
    public string? ImageId { get; init; }

    public double ImageSizeGb { get; init; }

    /// <summary>State to copy when the subtask migrates.</summary>
    public double StateSizeGb { get; init; }
}

/// <summary>
/// Data between two subtasks, or between a subtask and the user when an end is <see cref="User"/>.
/// Transfer delay = path latency + DataPerRequestMb / bottleneck bandwidth; DataRateMbps is the
/// sustained rate that loads every link on the route.
/// </summary>
public sealed record SubtaskEdge(int From, int To)
{
    /// <summary>Endpoint meaning "the user's access node(s)".</summary>
    public const int User = -1;

    public double DataPerRequestMb { get; init; }

    public double DataRateMbps { get; init; }

    public double TransferDelayThresholdMs { get; init; } = double.PositiveInfinity;

    /// <summary>The route's bottleneck bandwidth must be at least this much.</summary>
    public double BandwidthFloorMbps { get; init; }

    public bool TouchesUser => From == User || To == User;
}

/// <summary>
/// One placement question: the fleet (with usage and forecasts), the network, one app's subtasks
/// and edges, and where its user attaches. Nodes and links are addressed by index.
/// The node list is a snapshot: per-fleet work is cached by its identity, so do not mutate it after use.
/// </summary>
public sealed class PlacementProblem
{
    public PlacementProblem(
        IReadOnlyList<NodeSpec> nodes,
        Network network,
        IReadOnlyList<Subtask> subtasks,
        IReadOnlyList<SubtaskEdge> edges,
        IReadOnlyList<int> userAccessNodes,
        IReadOnlyList<int>? placementOrder = null)
    {
        if (network.NodeCount != nodes.Count)
            throw new ArgumentException("The network and the node list disagree on the node count.");
        Nodes = nodes;
        Network = network;
        Subtasks = subtasks;
        Edges = edges;
        UserAccessNodes = userAccessNodes;
        PlacementOrder = placementOrder;

        Fleet = FleetIndex.For(nodes);
        NodeArray = Fleet.Nodes;
        SubtaskArray = [.. subtasks];
        UserNodeArray = [.. userAccessNodes];
        Free = Fleet.Free;

        var edgesOf = new List<int>[subtasks.Count];
        for (var k = 0; k < subtasks.Count; k++) edgesOf[k] = [];
        for (var e = 0; e < edges.Count; e++)
        {
            if (edges[e].From != SubtaskEdge.User) edgesOf[edges[e].From].Add(e);
            if (edges[e].To != SubtaskEdge.User && edges[e].To != edges[e].From) edgesOf[edges[e].To].Add(e);
        }
        EdgesOf = edgesOf.Select(l => l.ToArray()).ToArray();

        AntiAffinityMembers = GroupMembers(subtasks, s => s.AntiAffinityGroup);
        ColocationMembers = GroupMembers(subtasks, s => s.ColocationGroup);
        UserAccessSet = [.. userAccessNodes];
    }

    public IReadOnlyList<NodeSpec> Nodes { get; }

    public Network Network { get; }

    public IReadOnlyList<Subtask> Subtasks { get; }

    public IReadOnlyList<SubtaskEdge> Edges { get; }

    public IReadOnlyList<int> UserAccessNodes { get; }

    /// <summary>Grading order from decomposition, if any; policies place subtasks in this order.</summary>
    public IReadOnlyList<int>? PlacementOrder { get; }

    /// <summary>What each node offers this plan (see <see cref="NodeSpec.Free"/>).</summary>
    internal NodeFreeTable Free { get; }

    internal int[][] EdgesOf { get; }

    internal NodeSpec[] NodeArray { get; }

    internal Subtask[] SubtaskArray { get; }

    internal int[] UserNodeArray { get; }

    internal IReadOnlyDictionary<string, int[]> AntiAffinityMembers { get; }

    internal IReadOnlyDictionary<string, int[]> ColocationMembers { get; }

    internal IReadOnlyDictionary<string, int> NodeIndexById => Fleet.NodeIndexById;

    internal FleetIndex Fleet { get; }

    internal HashSet<int> UserAccessSet { get; }

    /// <summary>The same problem with new node conditions (usage, forecasts, capacities).</summary>
    public PlacementProblem WithNodes(IReadOnlyList<NodeSpec> nodes) =>
        new(nodes, Network, Subtasks, Edges, UserAccessNodes, PlacementOrder);

    private static Dictionary<string, int[]> GroupMembers(IReadOnlyList<Subtask> subtasks, Func<Subtask, string?> group)
    {
        var result = new Dictionary<string, List<int>>();
        for (var k = 0; k < subtasks.Count; k++)
        {
            if (group(subtasks[k]) is not { } name) continue;
            if (!result.TryGetValue(name, out var list)) result[name] = list = [];
            list.Add(k);
        }
        return result.ToDictionary(p => p.Key, p => p.Value.ToArray());
    }
}
