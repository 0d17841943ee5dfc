using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;

namespace ComputeNet.Actors.Topology;

public static class TopologyCommands
{
    /// <summary>
    /// One window of a link's telemetry from one authenticated reporter (an endpoint of the link).
    /// Answered with <see cref="TopologyReplies.LinkTelemetryRecorded"/>.
    /// </summary>
    public sealed record RecordLinkTelemetry(string Src, string Dst, string Reporter, IReadOnlyList<LinkSample> Samples) : IComputeNetMessage
    {
        public bool Equals(RecordLinkTelemetry? other) =>
            other is not null && Src == other.Src && Dst == other.Dst && Reporter == other.Reporter && Samples.SequenceEqual(other.Samples);

        public override int GetHashCode() => HashCode.Combine(Src, Dst, Reporter, Samples.Count);
    }

    /// <summary>Snapshot the link state before offsets are committed; answered with <see cref="TopologyReplies.TopologyCheckpointed"/>.</summary>
    public sealed record CheckpointTopology : IComputeNetMessage;
}

public static class TopologyQueries
{
    public sealed record GetTopology : IComputeNetMessage;

    public sealed record GetPath(string From, string To) : IComputeNetMessage;

    /// <summary>Answered with <see cref="TopologyReplies.LinkForecastView"/>, or <see cref="TopologyReplies.LinkNotFound"/>.</summary>
    public sealed record GetLinkForecast(string Src, string Dst) : IComputeNetMessage;
}

public static class TopologyReplies
{
    public sealed record LinkTelemetryRecorded(string Src, string Dst, int Applied, int Duplicates, long HighestSeq) : IComputeNetMessage;

    public sealed record TopologyCheckpointed : IComputeNetMessage;

    public sealed record LinkView(
        string Src,
        string Dst,
        bool Up,
        string? DownReason,
        DateTimeOffset? StateChangedAt,
        LinkSample? Latest,
        long AppliedSamples,
        DateTimeOffset LastHeardAt) : IComputeNetMessage;

    public sealed record TopologyView(IReadOnlyList<LinkView> Links) : IComputeNetMessage
    {
        public bool Equals(TopologyView? other) => other is not null && Links.SequenceEqual(other.Links);

        public override int GetHashCode() => Links.Count;
    }

    /// <summary>The shortest-latency route over links that are up, or <see cref="NetworkPath"/> null when none.</summary>
    public sealed record PathView(string From, string To, NetworkPath? Path) : IComputeNetMessage;

    /// <summary>Available bandwidth and latency forecasts of a link; <paramref name="IntervalMs"/> is one horizon step.</summary>
    public sealed record LinkForecastView(string Src, string Dst, long IntervalMs, long IntervalsObserved, IReadOnlyList<MetricForecast> Metrics) : IComputeNetMessage
    {
        public bool Equals(LinkForecastView? other) =>
            other is not null && Src == other.Src && Dst == other.Dst && IntervalMs == other.IntervalMs
            && IntervalsObserved == other.IntervalsObserved && Metrics.SequenceEqual(other.Metrics);

        public override int GetHashCode() => HashCode.Combine(Src, Dst, IntervalsObserved);
    }

    public sealed record LinkNotFound(string Src, string Dst) : IComputeNetMessage;
}

public static class TopologyEvents
{
    /// <summary>The link reported <c>up: false</c>, or went silent for the silence timeout.</summary>
    public sealed record LinkWentDown(string Src, string Dst, string Reason, DateTimeOffset At) : ITopologyEvent;

    public sealed record LinkCameUp(string Src, string Dst, DateTimeOffset At) : ITopologyEvent;

    /// <summary>
    /// The drift detector confirmed a lasting change of a link's available bandwidth or latency; times are interval
    /// starts in the reporting agent's clock, <paramref name="Statistic"/> the detector's CUSUM value in σ.
    /// </summary>
    public sealed record LinkDrifted(
        string Src,
        string Dst,
        string Metric,
        DriftDirection Direction,
        double FromLevel,
        double ToLevel,
        DateTimeOffset FirstSeenAt,
        DateTimeOffset ConfirmedAt,
        double Statistic,
        DateTimeOffset At) : ITopologyEvent;
}

/// <summary>A persisted fact about a link.</summary>
public interface ITopologyEvent : IComputeNetEvent
{
    string Src { get; }
    string Dst { get; }
}
