using ComputeNet.Actors.Placement;

namespace ComputeNet.Actors.Scheduling;

/// <summary>A container of a subtask and its image.</summary>
public sealed record ComponentImage(string ComponentId, string Image);

/// <summary>Another subtask this one talks to, and where it runs.</summary>
public sealed record PeerEndpoint(string SubtaskId, string NodeId);

/// <summary>What a node's agent must start for one subtask (任务部署).</summary>
public sealed record SubtaskDeployment(
    string NodeId,
    string AppId,
    string DeploymentId,
    string SubtaskId,
    IReadOnlyList<ComponentImage> Components,
    Resources Resources,
    IReadOnlyList<PeerEndpoint> Peers);

/// <summary>What a node's agent must stop: the app's subtask left the node.</summary>
public sealed record SubtaskRemoval(string NodeId, string AppId, string SubtaskId, string Reason);

/// <summary>
/// Between an AppActor and the agent-command outbox (the host publishes these on
/// computenet.agent-commands). Local messages: the outbox runs on every member.
/// </summary>
public static class DeploymentProtocol
{
    /// <summary>Answered with <see cref="DeploymentsPublished"/> once the broker has them, or <see cref="DeploymentsNotPublished"/>.</summary>
    public sealed record PublishDeployments(string AppId, string DeploymentId, IReadOnlyList<SubtaskDeployment> Deployments);

    public sealed record DeploymentsPublished(string AppId, string DeploymentId);

    public sealed record DeploymentsNotPublished(string AppId, string DeploymentId, string Reason);

    /// <summary>Fire and forget: a lost removal leaves a container an operator can see in the agent's report.</summary>
    public sealed record PublishRemovals(string AppId, IReadOnlyList<SubtaskRemoval> Removals);
}
