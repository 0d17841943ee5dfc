namespace ComputeNet.Actors.Model;

/// <summary>Where a node sits in the hierarchy, ordered from the user outwards.</summary>
public enum NodeTier
{
    Device,
    Edge,
    Cloud,
}

/// <summary>
/// What a node declares about itself when it registers (算力注册): its capacities, reliability,
/// power model and placement attributes. Immutable; equality compares every field, labels included,
/// so an unchanged re-registration can be recognised and ignored.
/// </summary>
public sealed record NodeSpec(
    string NodeId,
    string Region,
    NodeTier Tier,
    double CpuCores,
    double MemoryGb,
    double StorageGb,
    int Gpus,
    double Reliability,
    double PowerIdleW,
    double PowerPeakW,
    double CpuMipsPerCore,
    IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>A typical server core's speed, used when a registration does not state one.</summary>
    public const double DefaultCpuMipsPerCore = 2000;

    public bool Equals(NodeSpec? other) =>
        other is not null
        && NodeId == other.NodeId
        && Region == other.Region
        && Tier == other.Tier
        && CpuCores.Equals(other.CpuCores)
        && MemoryGb.Equals(other.MemoryGb)
        && StorageGb.Equals(other.StorageGb)
        && Gpus == other.Gpus
        && Reliability.Equals(other.Reliability)
        && PowerIdleW.Equals(other.PowerIdleW)
        && PowerPeakW.Equals(other.PowerPeakW)
        && CpuMipsPerCore.Equals(other.CpuMipsPerCore)
        && Labels.Count == other.Labels.Count
        && Labels.All(label => other.Labels.TryGetValue(label.Key, out var value) && value == label.Value);

    public override int GetHashCode() => HashCode.Combine(NodeId, Region, Tier, CpuCores, MemoryGb, StorageGb, Gpus, Reliability);
}

/// <summary>
/// The management/awareness agent the system hands a newly registered node: the identity and
/// secret its telemetry must carry, how often to report, and where.
/// </summary>
public sealed record AgentCredentials(string AgentId, string AgentToken, int ReportingIntervalMs);
