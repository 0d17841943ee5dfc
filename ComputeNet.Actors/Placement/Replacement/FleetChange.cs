using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement;

/// <summary>A change of node or link conditions that may force running apps to move (运行调整 triggers).</summary>
public abstract record FleetChange;

/// <summary>The node now has this total capacity (a lost host, a shrunk VM); its usage stays.</summary>
public sealed record NodeCapacityChanged(int Node, Resources Capacity) : FleetChange;

/// <summary>The node is gone: nothing can run there any more.</summary>
public sealed record NodeDied(int Node) : FleetChange;

/// <summary>A link's latency and/or bandwidth changed (null = unchanged).</summary>
public sealed record LinkChanged(int Link, double? LatencyMs = null, double? BandwidthMbps = null) : FleetChange;

/// <summary>
/// A region's uplinks (links leaving the region, and links inside it that reach a cloud node) carry
/// <paramref name="BandwidthFactor"/> times their bandwidth.
/// </summary>
public sealed record RegionUplinkChanged(string Region, double BandwidthFactor) : FleetChange;

/// <summary>
/// The nodes and links a change touched (for a latency change, also the links the re-routed
/// traffic now loads): only apps placed or routed there can be affected.
/// <see cref="Rerouted"/> are the apps whose routes moved off a link whose latency changed.
/// </summary>
public sealed record FleetDelta(IReadOnlySet<int> Nodes, IReadOnlySet<int> Links)
{
    public static readonly FleetDelta None = new(new HashSet<int>(), new HashSet<int>());

    public IReadOnlySet<string> Rerouted { get; init; } = new HashSet<string>();
}

/// <summary>A link as the predictor expects it at the horizon (null = as now).</summary>
public sealed record LinkForecast(double? LatencyMs = null, double? AvailableMbps = null);

/// <summary>
/// The predictor's view (算力预测) over the horizon: the compute each node will have available in
/// all (for everything running on it, apps included) and how links will be. Apps that would break
/// under it move before they break.
/// </summary>
public sealed record FleetForecast(IReadOnlyDictionary<int, Resources> NodeAvailable, IReadOnlyDictionary<int, LinkForecast> Links)
{
    public static FleetForecast ForNodes(IReadOnlyDictionary<int, Resources> nodeFree) => new(nodeFree, new Dictionary<int, LinkForecast>());

    public bool IsEmpty => NodeAvailable.Count == 0 && Links.Count == 0;
}

/// <summary>A running app's placement: its decomposed subtasks, where its user attaches, and which node runs each subtask.</summary>
public sealed record RunningApp(
    string Id,
    IReadOnlyList<Subtask> Subtasks,
    IReadOnlyList<SubtaskEdge> Edges,
    IReadOnlyList<int> UserAccessNodes,
    IReadOnlyList<int> Assignment)
{
    public IReadOnlyList<int>? PlacementOrder { get; init; }
}

internal static class RegionUplinks
{
    /// <summary>Links leaving the region, and links inside it that reach one of its cloud nodes.</summary>
    public static bool IsUplink(IReadOnlyList<NodeSpec> nodes, LinkSpec link, string region)
    {
        var a = nodes[link.NodeA];
        var b = nodes[link.NodeB];
        return (a.Region == region) != (b.Region == region)
               || (a.Region == region && (a.Tier == NodeTier.Cloud || b.Tier == NodeTier.Cloud));
    }
}
