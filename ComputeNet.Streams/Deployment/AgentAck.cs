using System.Text.Json;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Streams.Registration;

namespace ComputeNet.Streams.Deployment;

/// <summary>
/// An agent's answer to a deploy-subtask command (or, with "command", to a migration's switch-traffic or stop-subtask), from computenet.agent-acks (key: node id):
/// <c>{"nodeId","agentToken","appId","deploymentId","subtaskId","ok":true|false,"reason":…}</c>.
/// The token must be the node's agent token, so one node cannot acknowledge another's subtasks.
/// </summary>
public sealed record AgentAck(string NodeId, string AgentToken, string AppId, string DeploymentId, string SubtaskId, bool Ok, string? Reason)
{
    /// <summary>The command acknowledged: "deploy-subtask" (the default), "switch-traffic" or "stop-subtask" (of a migration).</summary>
    public string Command { get; init; } = AgentCommandKinds.Deploy;

    /// <summary>
    /// The success ack a well-behaved agent sends for <paramref name="command"/>, and the topic it goes to; null for commands
    /// that are not acknowledged (provisioning, and stops that are not part of a migration).
    /// </summary>
    public static (string Topic, AgentAck Ack)? Success(AgentCommand command, string agentToken) => command switch
    {
        DeploySubtask d => (d.AckTopic, new AgentAck(d.NodeId, agentToken, d.AppId, d.DeploymentId, d.SubtaskId, true, null)),
        SwitchTraffic s => (s.AckTopic, new AgentAck(s.NodeId, agentToken, s.AppId, s.MigrationId, s.SubtaskId, true, null) { Command = AgentCommandKinds.SwitchTraffic }),
        StopSubtask { MigrationId: { } migration, AckTopic: { } topic } s =>
            (topic, new AgentAck(s.NodeId, agentToken, s.AppId, migration, s.SubtaskId, true, null) { Command = AgentCommandKinds.Stop }),
        _ => null,
    };
}

/// <summary>Parses an ack record; a bad one yields the reason it is dead-lettered with.</summary>
public static class AgentAckParser
{
    public const int MaxRecordBytes = 16 * 1024;

    public static (AgentAck? Ack, string? Error) Parse(string? key, byte[]? value)
    {
        if (value is null) return (null, "an agent ack needs a value");
        if (value.Length > MaxRecordBytes) return (null, $"record of {value.Length} bytes exceeds {MaxRecordBytes}");
        try
        {
            using var document = JsonDocument.Parse(value);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, $"expected a JSON object, got {JsonText.Describe(root)}");

            string? Text(string name, out string? error)
            {
                error = null;
                if (!root.TryGetProperty(name, out var element)) error = $"'{name}' is missing";
                else if (element.ValueKind != JsonValueKind.String) error = $"'{name}' must be a string, got {JsonText.Describe(element)}";
                else if (!RegistrationParser.IsValidId(element.GetString()!)) error = $"'{name}' is not a valid id: {JsonText.Describe(element)}";
                return error is null ? element.GetString() : null;
            }

            var nodeId = Text("nodeId", out var error) ?? "";
            if (error is null && key is not null && key != nodeId) error = $"key '{JsonText.Truncate(key)}' does not match nodeId '{nodeId}'";
            var appId = error is null ? Text("appId", out error) : null;
            var deploymentId = error is null ? Text("deploymentId", out error) : null;
            var subtaskId = error is null ? Text("subtaskId", out error) : null;
            if (error is not null) return (null, error);
            if (!root.TryGetProperty("agentToken", out var token) || token.ValueKind != JsonValueKind.String)
                return (null, "'agentToken' must be a string");
            if (!root.TryGetProperty("ok", out var ok) || ok.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                return (null, "'ok' must be true or false");
            var command = AgentCommandKinds.Deploy;
            if (root.TryGetProperty("command", out var c) && c.ValueKind != JsonValueKind.Null)
            {
                if (c.ValueKind != JsonValueKind.String || !AgentCommandKinds.Acknowledged.Contains(c.GetString()!))
                    return (null, $"'command' must be one of {string.Join(", ", AgentCommandKinds.Acknowledged)}, got {JsonText.Describe(c)}");
                command = c.GetString()!;
            }
            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? JsonText.Truncate(r.GetString()!) : null;
            return (new AgentAck(nodeId, token.GetString()!, appId!, deploymentId!, subtaskId!, ok.GetBoolean(), reason) { Command = command }, null);
        }
        catch (JsonException e)
        {
            return (null, $"malformed JSON: {e.Message}");
        }
    }

    public static byte[] ToJsonBytes(AgentAck ack) => JsonSerializer.SerializeToUtf8Bytes(ack, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
