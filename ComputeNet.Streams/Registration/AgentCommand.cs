using System.Text.Json;
using System.Text.Json.Serialization;
using ComputeNet.Actors.Model;

namespace ComputeNet.Streams.Registration;

/// <summary>
/// Records ComputeNet publishes on computenet.agent-commands (key: node id) for a node's agent.
/// "provision-agent" hands a newly registered node its management/awareness agent; it is re-sent,
/// unchanged, when the same node registers again, so an agent that lost it can recover it.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ProvisionAgent), "provision-agent")]
[JsonDerivedType(typeof(RetireAgent), "retire-agent")]
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
