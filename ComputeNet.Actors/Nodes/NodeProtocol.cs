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
}

public static class NodeQueries
{
    public sealed record GetNode(string NodeId) : INodeMessage, IComputeNetMessage;
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
        long Version) : IComputeNetMessage;

    public sealed record NodeNotFound(string NodeId) : IComputeNetMessage;
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
}

/// <summary>A persisted fact about one node.</summary>
public interface INodeEvent : IComputeNetEvent
{
    string NodeId { get; }
}
