using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Topology.TopologyEvents;

namespace ComputeNet.Actors.Topology;

/// <summary>
/// One link's live state. Each endpoint may report the link; <see cref="HighestSeqByReporter"/> keeps
/// every reporter's highest applied seq so redelivered or reordered reports change nothing.
/// </summary>
public sealed record LinkState(
    string Src,
    string Dst,
    bool Up,
    string? DownReason,
    DateTimeOffset? StateChangedAt,
    LinkSample? Latest,
    long AppliedSamples,
    DateTimeOffset LastHeardAt,
    IReadOnlyDictionary<string, long> HighestSeqByReporter,
    IReadOnlyList<LinkSample> History)
{
    public string Key => LinkKeys.Of(Src, Dst);

    /// <summary>Per metric, the latest confirmed drift (replayed telemetry does not persist it twice).</summary>
    public DriftMarks Drifts { get; init; } = DriftMarks.None;

    public static LinkState New(string src, string dst) =>
        new(src, dst, false, null, null, null, 0, default, new Dictionary<string, long>(StringComparer.Ordinal), []);

    public LinkState Apply(ITopologyEvent @event) => @event switch
    {
        LinkWentDown e => this with { Up = false, DownReason = e.Reason, StateChangedAt = e.At },
        LinkCameUp e => this with { Up = true, DownReason = null, StateChangedAt = e.At },
        LinkDrifted e => this with { Drifts = Drifts.With(e.Metric, e.ConfirmedAt) },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown topology event"),
    };

    public bool Equals(LinkState? other) =>
        other is not null && Src == other.Src && Dst == other.Dst && Up == other.Up && DownReason == other.DownReason
        && StateChangedAt == other.StateChangedAt && Equals(Latest, other.Latest) && AppliedSamples == other.AppliedSamples
        && LastHeardAt == other.LastHeardAt && History.SequenceEqual(other.History) && Drifts.Equals(other.Drifts)
        && HighestSeqByReporter.Count == other.HighestSeqByReporter.Count
        && HighestSeqByReporter.All(r => other.HighestSeqByReporter.TryGetValue(r.Key, out var seq) && seq == r.Value);

    public override int GetHashCode() => HashCode.Combine(Src, Dst, AppliedSamples);
}

/// <summary>The topology actor's snapshot: every link it knows, and each link's forecasting history.</summary>
public sealed record TopologySnapshot(IReadOnlyList<LinkState> Links) : IComputeNetSnapshot
{
    /// <summary>Per link key; older snapshots lack it (forecasting starts afresh).</summary>
    public IReadOnlyList<LinkForecastState> Forecasts { get; init; } = [];

    public bool Equals(TopologySnapshot? other) => other is not null && Links.SequenceEqual(other.Links) && Forecasts.SequenceEqual(other.Forecasts);

    public override int GetHashCode() => Links.Count;
}

public sealed record LinkForecastState(string Key, LiveForecastState State);

/// <summary>What is forecast per link: available bandwidth (bounded by the reported capacity) and latency.</summary>
public static class LinkMetrics
{
    public const string BandwidthAvailableMbps = "bandwidth_available_mbps";
    public const string LatencyMs = "latency_ms";

    public static IReadOnlyList<LiveMetric> Of(double capacityMbps) =>
        [new(BandwidthAvailableMbps, 0, capacityMbps), new(LatencyMs, 0, double.PositiveInfinity)];
}

public static class LinkKeys
{
    /// <summary>The Kafka key of a link's telemetry, and its identity: "src|dst".</summary>
    public static string Of(string src, string dst) => $"{src}|{dst}";
}

public sealed record LinkFoldResult(LinkState State, int Applied, int Duplicates)
{
    /// <summary>The samples applied, in order (what the forecaster consumes).</summary>
    public IReadOnlyList<LinkSample> AppliedSamples { get; init; } = [];
}

/// <summary>Pure: folds one reporter's window of samples into a link's state.</summary>
public static class LinkTelemetryFold
{
    public static LinkFoldResult Apply(LinkState link, string reporter, IReadOnlyList<LinkSample> samples, DateTimeOffset receivedAt, int historyLimit)
    {
        var highest = link.HighestSeqByReporter.GetValueOrDefault(reporter, -1);
        var applied = new List<LinkSample>(samples.Count);
        foreach (var sample in samples)
        {
            if (sample.Seq <= highest) continue;
            highest = sample.Seq;
            applied.Add(sample);
        }
        if (applied.Count == 0) return new LinkFoldResult(link, 0, samples.Count);

        var reporters = new Dictionary<string, long>(link.HighestSeqByReporter, StringComparer.Ordinal) { [reporter] = highest };
        var history = link.History.Concat(applied).TakeLast(historyLimit).ToArray();
        var next = link with
        {
            Latest = applied[^1],
            AppliedSamples = link.AppliedSamples + applied.Count,
            LastHeardAt = receivedAt,
            HighestSeqByReporter = reporters,
            History = history,
        };
        return new LinkFoldResult(next, applied.Count, samples.Count - applied.Count) { AppliedSamples = applied };
    }
}
