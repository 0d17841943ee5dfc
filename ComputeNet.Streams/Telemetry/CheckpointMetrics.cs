using System.Diagnostics.Metrics;

namespace ComputeNet.Streams.Telemetry;

/// <summary>
/// How long telemetry checkpoints take: the part of the commit lag that is the store's, not the interval's. A checkpoint
/// writes one journal event per touched node (plus the topology), so a slow or overloaded store shows here first, while
/// ingest itself keeps going. Observed rather than pushed, as the other telemetry instruments are.
/// </summary>
public static class CheckpointMetrics
{
    private static long _checkpoints, _nodes, _microseconds, _lastMicroseconds, _quietWindows;

    private static readonly ObservableCounter<long> Count = ComputeNetMeter.Instance.CreateObservableCounter("telemetry_checkpoints_total",
        () => Interlocked.Read(ref _checkpoints), description: "telemetry checkpoints completed (telemetry durable, offsets released for commit)");
    private static readonly ObservableCounter<double> Seconds = ComputeNetMeter.Instance.CreateObservableCounter("telemetry_checkpoint_seconds_total",
        () => Interlocked.Read(ref _microseconds) / 1e6, description: "time spent in telemetry checkpoints; divided by the checkpoint count's rate, the mean duration");
    private static readonly ObservableGauge<double> Last = ComputeNetMeter.Instance.CreateObservableGauge("telemetry_last_checkpoint_seconds",
        () => Interlocked.Read(ref _lastMicroseconds) / 1e6, description: "duration of the latest telemetry checkpoint");
    private static readonly ObservableCounter<long> Nodes = ComputeNetMeter.Instance.CreateObservableCounter("telemetry_checkpointed_nodes_total",
        () => Interlocked.Read(ref _nodes), description: "node checkpoints written (one per node a checkpoint covers)");

    private static readonly ObservableCounter<long> Quiet = ComputeNetMeter.Instance.CreateObservableCounter("telemetry_quiet_windows_total",
        () => Interlocked.Read(ref _quietWindows), description: "windows closed because the stream went quiet; each is checkpointed without waiting for the interval");

    public static long Checkpoints => Interlocked.Read(ref _checkpoints);

    public static long QuietWindows => Interlocked.Read(ref _quietWindows);

    internal static void WindowClosedQuiet() => Interlocked.Increment(ref _quietWindows);

    public static TimeSpan TotalDuration => TimeSpan.FromMicroseconds(Interlocked.Read(ref _microseconds));

    internal static void Completed(TimeSpan duration, int nodes)
    {
        var microseconds = (long)duration.TotalMicroseconds;
        Interlocked.Exchange(ref _lastMicroseconds, microseconds);
        Interlocked.Add(ref _microseconds, microseconds);
        Interlocked.Add(ref _nodes, nodes);
        Interlocked.Increment(ref _checkpoints);
    }
}
