using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;

namespace ComputeNet.Actors.Nodes;

/// <summary>Every message a <see cref="NodeActor"/> handles names its node, so one extractor routes them all.</summary>
public interface INodeMessage
{
    string NodeId { get; }
}

public static class NodeCommands
{
    /// <summary>Registers a node, or updates it when its spec changed; idempotent for an unchanged spec.</summary>
    public sealed record RegisterNode(NodeSpec Spec) : INodeMessage, IComputeNetMessage
    {
        public string NodeId => Spec.NodeId;
    }

    public sealed record DeregisterNode(string NodeId) : INodeMessage, IComputeNetMessage;

    /// <summary>
    /// One aggregation window of a node's telemetry, in the order the samples were consumed, with the agent
    /// token they carried. Answered with <see cref="NodeReplies.NodeTelemetryRecorded"/> once applied.
    /// </summary>
    public sealed record RecordNodeTelemetry(string NodeId, string AgentToken, IReadOnlyList<NodeUsageSample> Samples) : INodeMessage, IComputeNetMessage
    {
        public bool Equals(RecordNodeTelemetry? other) =>
            other is not null && NodeId == other.NodeId && AgentToken == other.AgentToken && Samples.SequenceEqual(other.Samples);

        public override int GetHashCode() => HashCode.Combine(NodeId, Samples.Count);
    }

    /// <summary>
    /// Make the telemetry applied so far durable (a snapshot) before offsets are committed; answered with
    /// <see cref="NodeReplies.TelemetryCheckpointed"/>. Fails when the state no longer holds
    /// <paramref name="MinHighestSeq"/> (e.g. the entity was passivated in between), so the stream replays.
    /// </summary>
    public sealed record CheckpointTelemetry(string NodeId, long MinHighestSeq) : INodeMessage, IComputeNetMessage;

    /// <summary>Starts the node's actor (so its silence timeout runs again after a restart); changes nothing, answers nothing.</summary>
    public sealed record WakeUp(string NodeId) : INodeMessage, IComputeNetMessage;

    /// <summary>Does this token belong to the node's current agent? Used to authenticate link reports.</summary>
    public sealed record AuthenticateAgent(string NodeId, string AgentToken) : INodeMessage, IComputeNetMessage;
}

public static class NodeQueries
{
    public sealed record GetNode(string NodeId) : INodeMessage, IComputeNetMessage;

    public sealed record GetNodeTelemetry(string NodeId) : INodeMessage, IComputeNetMessage;

    /// <summary>Answered with <see cref="NodeReplies.NodeForecastView"/> (算力预测).</summary>
    public sealed record GetNodeForecast(string NodeId) : INodeMessage, IComputeNetMessage;
}

public enum RegistrationOutcome
{
    Registered,
    Updated,
    Unchanged,
}

public static class NodeReplies
{
    /// <summary>The registration is persisted; the caller may now provision the agent.</summary>
    public sealed record RegistrationAccepted(string NodeId, RegistrationOutcome Outcome, AgentCredentials Agent) : IComputeNetMessage;

    /// <summary>Deregistration is persisted (or the node was not registered: <paramref name="WasRegistered"/> false).</summary>
    public sealed record DeregistrationAccepted(string NodeId, bool WasRegistered) : IComputeNetMessage;

    public sealed record NodeView(
        string NodeId,
        NodeSpec Spec,
        string AgentId,
        NodeLifecycle Lifecycle,
        DateTimeOffset RegisteredAt,
        DateTimeOffset UpdatedAt,
        long Version) : IComputeNetMessage
    {
        public NodeHealth Health { get; init; }
        public DateTimeOffset? HealthChangedAt { get; init; }

        /// <summary>The latest applied telemetry sample: the node's current usage.</summary>
        public NodeUsageSample? Usage { get; init; }
    }

    /// <param name="Rejections">samples refused (wrong token, unregistered node, over capacity), by index in the window.</param>
    public sealed record NodeTelemetryRecorded(string NodeId, int Applied, int Duplicates, long HighestSeq, IReadOnlyList<SampleRejection> Rejections)
        : IComputeNetMessage
    {
        public bool Equals(NodeTelemetryRecorded? other) =>
            other is not null && NodeId == other.NodeId && Applied == other.Applied && Duplicates == other.Duplicates
            && HighestSeq == other.HighestSeq && Rejections.SequenceEqual(other.Rejections);

        public override int GetHashCode() => HashCode.Combine(NodeId, Applied, HighestSeq);
    }

    public sealed record TelemetryCheckpointed(string NodeId, long HighestSeq) : IComputeNetMessage;

    public sealed record AgentAuthentication(string NodeId, bool Accepted, string? Reason) : IComputeNetMessage;

    public sealed record NodeTelemetryView(
        string NodeId,
        NodeHealth Health,
        DateTimeOffset? HealthChangedAt,
        long HighestSeq,
        long AppliedSamples,
        NodeUsageSample? Latest,
        IReadOnlyList<NodeUsageWindow> History) : IComputeNetMessage
    {
        public bool Equals(NodeTelemetryView? other) =>
            other is not null && NodeId == other.NodeId && Health == other.Health && HealthChangedAt == other.HealthChangedAt
            && HighestSeq == other.HighestSeq && AppliedSamples == other.AppliedSamples && Equals(Latest, other.Latest)
            && History.SequenceEqual(other.History);

        public override int GetHashCode() => HashCode.Combine(NodeId, HighestSeq, AppliedSamples);
    }

    public sealed record NodeNotFound(string NodeId) : IComputeNetMessage;

    /// <summary>Available CPU, memory (and GPU) forecasts of a node; <paramref name="IntervalMs"/> is the length of one horizon step.</summary>
    public sealed record NodeForecastView(string NodeId, long IntervalMs, long IntervalsObserved, IReadOnlyList<MetricForecast> Metrics) : IComputeNetMessage
    {
        public bool Equals(NodeForecastView? other) =>
            other is not null && NodeId == other.NodeId && IntervalMs == other.IntervalMs && IntervalsObserved == other.IntervalsObserved
            && Metrics.SequenceEqual(other.Metrics);

        public override int GetHashCode() => HashCode.Combine(NodeId, IntervalsObserved);
    }
}

public static class NodeEvents
{
    public sealed record NodeRegistered(NodeSpec Spec, AgentCredentials Agent, DateTimeOffset At) : INodeEvent
    {
        public string NodeId => Spec.NodeId;
    }

    public sealed record NodeUpdated(NodeSpec Spec, DateTimeOffset At) : INodeEvent
    {
        public string NodeId => Spec.NodeId;
    }

    public sealed record NodeDeregistered(string NodeId, DateTimeOffset At) : INodeEvent;

    /// <summary>The node stopped reporting for the silence timeout, or its agent reported <c>up: false</c>.</summary>
    public sealed record NodeWentDown(string NodeId, string Reason, DateTimeOffset At) : INodeEvent;

    /// <summary>Telemetry with <c>up: true</c> was applied after the node was down (or for the first time).</summary>
    public sealed record NodeCameUp(string NodeId, DateTimeOffset At) : INodeEvent;

    /// <summary>
    /// The drift detector confirmed a lasting change of one metric's level (e.g. available CPU cores fell from 14 to 8).
    /// <paramref name="FirstSeenAt"/> and <paramref name="ConfirmedAt"/> are the starts of the intervals (agent clock) where
    /// the change was first suspected and confirmed; <paramref name="Statistic"/> is the detector's CUSUM value in σ.
    /// </summary>
    public sealed record NodeDrifted(
        string NodeId,
        string Metric,
        DriftDirection Direction,
        double FromLevel,
        double ToLevel,
        DateTimeOffset FirstSeenAt,
        DateTimeOffset ConfirmedAt,
        double Statistic,
        DateTimeOffset At) : INodeEvent;
}

/// <summary>A persisted fact about one node.</summary>
public interface INodeEvent : IComputeNetEvent
{
    string NodeId { get; }
}
