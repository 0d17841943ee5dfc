using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ComputeNet.Streams.DeadLetters;

/// <summary>The one dead-letter counter every pipeline adds to (a second instrument of the same name would clash in /metrics).</summary>
public static class DeadLetterMetrics
{
    private static readonly ConcurrentDictionary<(string Source, string Reason), long> Counts = new();

    // Observed rather than pushed: prometheus-net's meter adapter exports observable instruments reliably here.
    private static readonly ObservableCounter<long> DeadLettered = ComputeNetMeter.Instance.CreateObservableCounter("deadletters_total",
        () => Counts.Select(c => new Measurement<long>(c.Value,
            new KeyValuePair<string, object?>("source", c.Key.Source), new KeyValuePair<string, object?>("reason", c.Key.Reason))),
        description: "records dead-lettered, by source and reason");

    public static void Add(string sourceTopic, string reason, long count = 1) =>
        Counts.AddOrUpdate((sourceTopic, ReasonClass(reason)), count, (_, known) => known + count);

    /// <summary>A low-cardinality label for metrics: the kind of problem, not its details.</summary>
    public static string ReasonClass(string reason) =>
        reason.StartsWith("malformed JSON", StringComparison.Ordinal) ? "malformed-json"
        : reason.StartsWith("record is", StringComparison.Ordinal) ? "oversized"
        : reason.StartsWith("a tombstone", StringComparison.Ordinal) ? "tombstone"
        : reason.Contains("agentToken does not match", StringComparison.Ordinal) ? "wrong-token"
        : reason.Contains("not an endpoint", StringComparison.Ordinal) ? "not-link-endpoint"
        : reason.Contains("is not registered", StringComparison.Ordinal) || reason.Contains("is deregistered", StringComparison.Ordinal) ? "unknown-node"
        : reason.Contains("in the future", StringComparison.Ordinal) ? "future-timestamp"
        : reason.Contains("staler than", StringComparison.Ordinal) ? "stale-timestamp"
        : reason.Contains("exceeds the node's", StringComparison.Ordinal) ? "over-capacity"
        : reason.Contains("missing required field", StringComparison.Ordinal) ? "missing-field"
        : reason.Contains("out of range", StringComparison.Ordinal) ? "out-of-range"
        : reason.Contains("unknown tier", StringComparison.Ordinal) ? "unknown-tier"
        : "schema";
}
