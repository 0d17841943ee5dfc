using System.Text.Json;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Scheduling;

namespace ComputeNet.Streams.Registration;

/// <summary>
/// Records ComputeNet publishes on computenet.agent-commands (key: node id) for a node's agent.
/// "provision-agent" hands a newly registered node its management/awareness agent; it is re-sent,
/// unchanged, when the same node registers again, so an agent that lost it can recover it.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ProvisionAgent), "provision-agent")]
[JsonDerivedType(typeof(RetireAgent), "retire-agent")]
[JsonDerivedType(typeof(DeploySubtask), "deploy-subtask")]
[JsonDerivedType(typeof(StopSubtask), "stop-subtask")]
[JsonDerivedType(typeof(SwitchTraffic), "switch-traffic")]
public abstract record AgentCommand(string NodeId)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static AgentCommand FromJsonBytes(byte[] bytes) =>
        JsonSerializer.Deserialize<AgentCommand>(bytes, JsonOptions) ?? throw new JsonException("null agent command");
}

public sealed record ProvisionAgent(
    string NodeId,
    string AgentId,
    string AgentToken,
    int ReportingIntervalMs,
    AgentTopics Topics) : AgentCommand(NodeId)
{
    public static ProvisionAgent For(string nodeId, AgentCredentials agent, TopicNames topics) =>
        new(nodeId, agent.AgentId, agent.AgentToken, agent.ReportingIntervalMs,
            new AgentTopics(topics.NodeTelemetry, topics.LinkTelemetry, topics.AgentCommands));
}

/// <summary>The node was deregistered: its agent should stop reporting; its token is no longer accepted.</summary>
public sealed record RetireAgent(string NodeId) : AgentCommand(NodeId);

public sealed record AgentTopics(string NodeTelemetry, string LinkTelemetry, string Commands);

/// <summary>
/// 任务部署: start one subtask of an app on this node — its containers, the resources reserved for it and the
/// peers it talks to. The agent answers on <see cref="AckTopic"/> (see <c>AgentAck</c>); the same command may
/// arrive twice (after a host restart), so agents treat (deploymentId, subtaskId) as idempotent.
/// </summary>
public sealed record DeploySubtask(
    string NodeId,
    string AppId,
    string DeploymentId,
    string SubtaskId,
    IReadOnlyList<ComponentImage> Components,
    Resources Resources,
    IReadOnlyList<PeerEndpoint> Peers,
    string AckTopic) : AgentCommand(NodeId)
{
    public static DeploySubtask For(SubtaskDeployment deployment, TopicNames topics) =>
        new(deployment.NodeId, deployment.AppId, deployment.DeploymentId, deployment.SubtaskId, deployment.Components,
            deployment.Resources, deployment.Peers, topics.AgentAcks);
}

/// <summary>Stop an app's subtask on this node (the app stopped, or the subtask moved elsewhere).</summary>
public sealed record StopSubtask(string NodeId, string AppId, string SubtaskId, string Reason) : AgentCommand(NodeId)
{
    /// <summary>Set when a migration (运行调整) stops the instance: the agent acknowledges under this id (command "stop-subtask").</summary>
    public string? MigrationId { get; init; }

    /// <summary>Where the agent acknowledges a stop of a migration (null otherwise).</summary>
    public string? AckTopic { get; init; }

    public static StopSubtask For(SubtaskRemoval removal, TopicNames topics) =>
        new(removal.NodeId, removal.AppId, removal.SubtaskId, removal.Reason)
        {
            MigrationId = removal.MigrationId,
            AckTopic = removal.MigrationId is null ? null : topics.AgentAcks,
        };
}

/// <summary>
/// 运行调整 switch-over: the app's subtask <see cref="SubtaskId"/> on this node must send to its peers' new instances
/// (<see cref="Peers"/>: peer subtask → node). Sent after every new instance acknowledged its deploy and before any old
/// instance stops. The agent acknowledges on <see cref="AckTopic"/> with <c>"command":"switch-traffic"</c>,
/// <c>deploymentId</c> = <see cref="MigrationId"/> and this subtask; (migrationId, subtaskId) is idempotent. A rollback
/// sends the same command with the old nodes.
/// </summary>
public sealed record SwitchTraffic(
    string NodeId,
    string AppId,
    string MigrationId,
    string SubtaskId,
    IReadOnlyList<PeerEndpoint> Peers,
    string AckTopic) : AgentCommand(NodeId)
{
    public static SwitchTraffic For(TrafficSwitch change, TopicNames topics) =>
        new(change.NodeId, change.AppId, change.MigrationId, change.SubtaskId, change.Peers, topics.AgentAcks);
}
