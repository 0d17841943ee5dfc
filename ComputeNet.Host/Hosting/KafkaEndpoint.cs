using ComputeNet.Streams.Kafka;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// The Kafka the host talks to: the configured cluster, or the embedded broker it started.
/// Client settings from configuration (SASL, TLS, ...) are passed through to every client.
/// </summary>
public sealed record KafkaEndpoint(string BootstrapServers, bool Embedded, IReadOnlyDictionary<string, string> ExtraConfig)
{
    public KafkaConnection Connection => new(BootstrapServers) { ExtraConfig = ExtraConfig };
}
