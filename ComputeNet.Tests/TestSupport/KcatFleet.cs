using System.Text;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Registration;

namespace ComputeNet.Tests.TestSupport;

/// <summary>What end-to-end tests set up before the host: a broker outside it, and nodes registered with kcat.</summary>
public static class KcatFleet
{
    private static readonly string[] HostTopics =
        ["computenet.registrations", "computenet.node-telemetry", "computenet.link-telemetry", "computenet.agent-commands", "computenet.deadletter", "computenet.events", "computenet.agent-acks"];

    /// <summary>A broker owned by the test, so killing or restarting the host keeps the topics, with the host's topics created.</summary>
    public static EmbeddedKafka StartBroker()
    {
        var kafka = EmbeddedKafka.Start(HostProcess.FreePort());
        foreach (var topic in HostTopics) kafka.CreateTopic(topic, 4);
        return kafka;
    }

    /// <summary>Registers edge nodes of 16 cores and 64 GB with kcat and returns each one's provisioned agent token.</summary>
    public static async Task<Dictionary<string, string>> RegisterAsync(string bootstrap, IReadOnlyCollection<string> ids)
    {
        await Kcat.ProduceAsync(bootstrap, "computenet.registrations", ids.Select(id =>
            $"{id}|{{\"nodeId\":\"{id}\",\"region\":\"cn-east\",\"tier\":\"edge\",\"cpuCores\":16,\"memoryGb\":64,\"storageGb\":500,\"gpus\":0,\"reliability\":0.99,\"powerIdleW\":80,\"powerPeakW\":300}}"));
        return await Eventually.GetAsync(async () =>
        {
            var commands = await Kcat.ConsumeAllAsync(bootstrap, "computenet.agent-commands");
            var provisioned = commands.Select(line => AgentCommand.FromJsonBytes(Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..])))
                .OfType<ProvisionAgent>().GroupBy(p => p.NodeId).ToDictionary(g => g.Key, g => g.Last().AgentToken);
            return provisioned.Count == ids.Count ? provisioned : null;
        }, seconds: 60);
    }
}
