namespace ComputeNet.Actors.Model;

/// <summary>
/// One node telemetry report (算力感知) as an actor sees it: already schema-checked, not yet
/// checked against the node's capacity. <see cref="TimestampMs"/> is the agent's UTC clock. The agent token
/// travels beside the samples (one per window), never inside the state.
/// </summary>
public sealed record NodeUsageSample(
    long Seq,
    long TimestampMs,
    double CpuUsedCores,
    double MemoryUsedGb,
    double StorageUsedGb,
    double GpuUsed,
    double PowerW,
    bool Up);

/// <summary>What a node used over one aggregation window: the bounded history kept per node.</summary>
public sealed record NodeUsageWindow(
    long FromMs,
    long ToMs,
    int Samples,
    double MeanCpuUsedCores,
    double MaxCpuUsedCores,
    double MeanMemoryUsedGb,
    double MeanStorageUsedGb,
    double MeanGpuUsed,
    double MeanPowerW);

/// <summary>One link telemetry report, as reported by one of the link's endpoints.</summary>
public sealed record LinkSample(
    long Seq,
    long TimestampMs,
    double CapacityMbps,
    double AvailableMbps,
    double LatencyMs,
    double LossRate,
    bool Up);

public enum NodeHealth
{
    /// <summary>Registered, but no telemetry applied yet.</summary>
    Unknown,
    Up,
    Down,
}
