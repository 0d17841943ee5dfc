namespace ComputeNet.Actors.Model.Apps;

/// <summary>
/// The capacity of one kind of node (a home gateway, an edge server, a cloud host). Decomposition sizes
/// subtasks to fit a class, and validation refuses needs that no class could ever meet.
/// </summary>
public sealed record NodeClass(
    string Name,
    NodeTier Tier,
    double CpuCores,
    double MemoryGb,
    double StorageGb,
    int Gpus,
    double SpeedMipsPerCore,
    double Reliability)
{
    public static readonly NodeClass Device = new("device", NodeTier.Device, 4, 8, 64, 0, 2_000, 0.95);
    public static readonly NodeClass Edge = new("edge", NodeTier.Edge, 32, 128, 2_000, 2, 3_500, 0.99);
    public static readonly NodeClass Cloud = new("cloud", NodeTier.Cloud, 128, 1_024, 20_000, 8, 4_000, 0.9999);
}

/// <summary>The node classes the fleet (or the configuration) offers.</summary>
public sealed record NodeClassCatalog(IReadOnlyList<NodeClass> Classes)
{
    /// <summary>Device / edge / cloud defaults used when no live fleet is known.</summary>
    public static readonly NodeClassCatalog Default = new([NodeClass.Device, NodeClass.Edge, NodeClass.Cloud]);

    public IEnumerable<NodeClass> InTier(NodeTier tier) => Classes.Where(c => c.Tier == tier);
}
