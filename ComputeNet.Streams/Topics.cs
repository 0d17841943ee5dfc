namespace ComputeNet.Streams;

/// <summary>The Kafka topics ComputeNet reads and writes; names are configurable, these are the defaults.</summary>
public sealed record TopicNames
{
    public string Registrations { get; init; } = "computenet.registrations";
    public string NodeTelemetry { get; init; } = "computenet.node-telemetry";
    public string LinkTelemetry { get; init; } = "computenet.link-telemetry";
    public string AgentCommands { get; init; } = "computenet.agent-commands";
    public string DeadLetter { get; init; } = "computenet.deadletter";
    public string Events { get; init; } = "computenet.events";
    public string AgentAcks { get; init; } = "computenet.agent-acks";
}
