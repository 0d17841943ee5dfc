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
public sealed record SubtaskRemoval(string NodeId, string AppId, string SubtaskId, string Reason)
{
    /// <summary>The migration that stops it (its agent acknowledges under this id), or null.</summary>
    public string? MigrationId { get; init; }
}

/// <summary>
/// 运行调整 switch-over: the agent of <paramref name="NodeId"/> points its subtask <paramref name="SubtaskId"/> at the
/// peers' new instances (make-before-break: the old instances still run until every peer has switched).
/// </summary>
public sealed record TrafficSwitch(string NodeId, string AppId, string MigrationId, string SubtaskId, IReadOnlyList<PeerEndpoint> Peers);

/// <summary>The kinds of agent command an agent acknowledges on computenet.agent-acks.</summary>
public static class AgentCommandKinds
{
    public const string Deploy = "deploy-subtask";
    public const string SwitchTraffic = "switch-traffic";
    public const string Stop = "stop-subtask";

    public static readonly IReadOnlyList<string> Acknowledged = [Deploy, SwitchTraffic, Stop];
}

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

    /// <summary>Fire and forget: a lost switch is never acknowledged, and the migration's step timeout rolls it back.</summary>
    public sealed record PublishSwitches(string AppId, string MigrationId, IReadOnlyList<TrafficSwitch> Switches);
}
