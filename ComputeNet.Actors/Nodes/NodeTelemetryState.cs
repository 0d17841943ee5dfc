using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Nodes;

/// <summary>Why one sample of a window was not applied; <see cref="Index"/> is its position in the window.</summary>
public sealed record SampleRejection(int Index, long Seq, string Reason);

/// <summary>
/// A node's live telemetry: the latest usage, a bounded history of window aggregates, and the
/// highest applied <c>seq</c> (idempotence: a sample at or below it changes nothing). Kept in memory
/// and in snapshots, never as per-sample events.
/// </summary>
public sealed record NodeTelemetryState(
    long HighestSeq,
    long AppliedSamples,
    NodeUsageSample? Latest,
    IReadOnlyList<NodeUsageWindow> History)
{
    public static NodeTelemetryState Empty { get; } = new(-1, 0, null, []);

    public bool Equals(NodeTelemetryState? other) =>
        other is not null && HighestSeq == other.HighestSeq && AppliedSamples == other.AppliedSamples
        && Equals(Latest, other.Latest) && History.SequenceEqual(other.History);

    public override int GetHashCode() => HashCode.Combine(HighestSeq, AppliedSamples, History.Count);
}

/// <summary>The result of folding one window into a node's telemetry.</summary>
public sealed record TelemetryFoldResult(
    NodeTelemetryState State,
    int Applied,
    int Duplicates,
    IReadOnlyList<SampleRejection> Rejections)
{
    /// <summary>The samples applied, in order (what the forecaster consumes).</summary>
    public IReadOnlyList<NodeUsageSample> AppliedSamples { get; init; } = [];
}

/// <summary>
/// Pure: folds a window of samples into a node's telemetry state. Checks each sample's agent token,
/// its seq against the highest applied one, and its usage against the node's capacities.
/// </summary>
public static class NodeTelemetryFold
{
    public static TelemetryFoldResult Apply(
        NodeTelemetryState state, NodeSpec spec, string provisionedToken, string reportedToken, IReadOnlyList<NodeUsageSample> samples,
        double capacityTolerance, int historyLimit)
    {
        if (!string.Equals(provisionedToken, reportedToken, StringComparison.Ordinal))
        {
            var reason = $"agentToken does not match the token provisioned for node '{spec.NodeId}'";
            return new TelemetryFoldResult(state, 0, 0, samples.Select((s, i) => new SampleRejection(i, s.Seq, reason)).ToList());
        }

        var rejections = new List<SampleRejection>();
        var applied = new List<NodeUsageSample>(samples.Count);
        var duplicates = 0;
        var highest = state.HighestSeq;
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            // At-least-once redelivery and reordering both land here; neither may change the state twice.
            if (sample.Seq <= highest)
            {
                duplicates++;
                continue;
            }
            if (OverCapacity(sample, spec, capacityTolerance) is { } reason)
            {
                rejections.Add(new SampleRejection(i, sample.Seq, reason));
                continue;
            }
            highest = sample.Seq;
            applied.Add(sample);
        }

        if (applied.Count == 0) return new TelemetryFoldResult(state, 0, duplicates, rejections);

        var window = Aggregate(applied);
        var history = BoundedHistory.Extend(state.History, [window], historyLimit);
        var next = new NodeTelemetryState(highest, state.AppliedSamples + applied.Count, applied[^1], history);
        return new TelemetryFoldResult(next, applied.Count, duplicates, rejections) { AppliedSamples = applied };
    }

    /// <summary>Usage may exceed capacity by the tolerance (counters are sampled, not exact); beyond that it is a wrong unit or a wrong node.</summary>
    public static string? OverCapacity(NodeUsageSample sample, NodeSpec spec, double tolerance)
    {
        // Called for every sample: the list exists only once there is a problem to report.
        List<string>? problems = null;
        Check(sample.CpuUsedCores, spec.CpuCores, "cpuUsedCores", "cores", "cpuCores");
        Check(sample.MemoryUsedGb, spec.MemoryGb, "memoryUsedGb", "GB", "memoryGb");
        Check(sample.StorageUsedGb, spec.StorageGb, "storageUsedGb", "GB", "storageGb");
        Check(sample.GpuUsed, spec.Gpus, "gpuUsed", "devices", "gpus");
        Check(sample.PowerW, spec.PowerPeakW, "powerW", "W", "powerPeakW");
        return problems is null ? null : string.Join("; ", problems);

        void Check(double used, double capacity, string field, string unit, string capacityField)
        {
            if (used > capacity * (1 + tolerance) + 1e-9)
                (problems ??= []).Add($"'{field}' = {used} {unit} exceeds the node's {capacityField} of {capacity} {unit} by more than {tolerance:P0}");
        }
    }

    public static NodeUsageWindow Aggregate(IReadOnlyList<NodeUsageSample> samples)
    {
        double cpu = 0, cpuMax = 0, memory = 0, storage = 0, gpu = 0, power = 0;
        long from = long.MaxValue, to = long.MinValue;
        foreach (var s in samples)
        {
            cpu += s.CpuUsedCores;
            cpuMax = Math.Max(cpuMax, s.CpuUsedCores);
            memory += s.MemoryUsedGb;
            storage += s.StorageUsedGb;
            gpu += s.GpuUsed;
            power += s.PowerW;
            from = Math.Min(from, s.TimestampMs);
            to = Math.Max(to, s.TimestampMs);
        }
        var n = samples.Count;
        return new NodeUsageWindow(from, to, n, cpu / n, cpuMax, memory / n, storage / n, gpu / n, power / n);
    }
}
