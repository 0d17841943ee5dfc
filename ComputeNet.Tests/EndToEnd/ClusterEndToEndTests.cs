using System.Text.Json.Nodes;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// The production shape by configuration only: two host processes form one Akka cluster through a
/// seed node, share a PostgreSQL journal and one Kafka (the first host's embedded broker), split the
/// registrations and telemetry topics between them, each answers for every node through Cluster Sharding, and
/// both see the one network picture of the topology singleton.
/// </summary>
public sealed class ClusterEndToEndTests
{
    [Fact]
    public async Task Two_members_with_postgres_share_registrations_and_answer_for_every_node()
    {
        Kcat.Require();
        var postgres = PostgresServer.FreshDatabase();
        using var dataA = new TempDirectory("computenet-a");
        using var dataB = new TempDirectory("computenet-b");
        var seedPort = HostProcess.FreePort();
        var seed = $"akka.tcp://computenet@127.0.0.1:{seedPort}";
        var run = Guid.NewGuid().ToString("N")[..8];
        string[] Cluster(int port) =>
        [
            "--postgres", postgres, "--cluster-port", port.ToString(), $"--ComputeNet:Cluster:SeedNodes:0={seed}",
            $"--ComputeNet:Kafka:GroupId=cluster-test-{run}",
            // The mock broker reassigns a departed member's partitions only after its session times out.
            "--ComputeNet:Kafka:Client:session.timeout.ms=6000",
        ];

        await using var a = await HostProcess.StartAsync(dataA.Path, extraArgs: Cluster(seedPort));
        await using var b = await HostProcess.StartAsync(dataB.Path, extraArgs: [.. Cluster(HostProcess.FreePort()), "--kafka", a.KafkaBootstrap]);

        var health = await b.GetJsonAsync<JsonObject>("/health");
        health["status"]!.GetValue<string>().ShouldBe("ready");

        var nodeIds = Enumerable.Range(0, 12).Select(i => $"c{run}-{i}").ToList();
        await Kcat.ProduceAsync(a.KafkaBootstrap, "computenet.registrations", nodeIds.Select(id =>
            $"{id}|{{\"nodeId\":\"{id}\",\"region\":\"r\",\"tier\":\"cloud\",\"cpuCores\":64,\"memoryGb\":256,\"storageGb\":4000," +
            "\"gpus\":4,\"reliability\":0.999,\"powerIdleW\":150,\"powerPeakW\":600}"));

        foreach (var host in new[] { a, b })
        {
            var listed = await Eventually.GetAsync(async () =>
            {
                var nodes = await host.GetJsonAsync<JsonObject>("/api/nodes");
                var ids = nodes["nodes"]!.AsArray().Select(n => n!["spec"]!["nodeId"]!.GetValue<string>()).Where(nodeIds.Contains).ToList();
                return ids.Count == nodeIds.Count ? ids : null;
            }, seconds: 90);
            listed.Order().ShouldBe(nodeIds.Order());
            foreach (var id in nodeIds)
                (await host.GetJsonAsync<JsonObject>($"/api/nodes/{id}"))["version"]!.GetValue<long>().ShouldBe(1);
        }

        // A rebalance between the members may hand over records processed but not yet committed: at-least-once
        // redelivery re-sends the same agent (same token) and persists nothing new (version 1 above).
        var commands = (await Kcat.ConsumeAllAsync(a.KafkaBootstrap, "computenet.agent-commands"))
            .Select(line => (Key: line[..line.IndexOf('|')], Command: (ComputeNet.Streams.Registration.ProvisionAgent)
                ComputeNet.Streams.Registration.AgentCommand.FromJsonBytes(System.Text.Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..]))))
            .Where(c => nodeIds.Contains(c.Key))
            .ToList();
        commands.Select(c => c.Key).Distinct().Order().ShouldBe(nodeIds.Order());
        commands.GroupBy(c => c.Key).ShouldAllBe(g => g.Select(c => c.Command.AgentToken).Distinct().Count() == 1);

        // Link telemetry spread over every partition is consumed by both members, yet there is one network picture
        // (the topology is a cluster singleton): each member lists every link, and they agree on it.
        var tokens = commands.GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.First().Command.AgentToken);
        var links = Enumerable.Range(0, nodeIds.Count - 1).Select(i => (Src: nodeIds[i], Dst: nodeIds[i + 1], LatencyMs: 1 + i)).ToList();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var producer = new Confluent.Kafka.ProducerBuilder<string, string>(new Confluent.Kafka.ProducerConfig { BootstrapServers = a.KafkaBootstrap }).Build())
        {
            foreach (var (src, dst, latencyMs) in links)
                await producer.ProduceAsync("computenet.link-telemetry", new Confluent.Kafka.Message<string, string>
                {
                    Key = $"{src}|{dst}",
                    Value = $"{{\"src\":\"{src}\",\"dst\":\"{dst}\",\"agentToken\":\"{tokens[src]}\",\"seq\":1,\"ts\":{now},\"capacityMbps\":10000," +
                            $"\"availableMbps\":9000,\"latencyMs\":{latencyMs},\"lossRate\":0,\"up\":true}}",
                });
        }
        var expected = links.Select(l => $"{l.Src}|{l.Dst}|{l.LatencyMs}").Order().ToList();
        foreach (var host in new[] { a, b })
        {
            var listed = await Eventually.GetAsync(async () =>
            {
                var topology = await host.GetJsonAsync<JsonObject>("/api/topology");
                var seen = topology["links"]!.AsArray()
                    .Where(l => nodeIds.Contains(l!["src"]!.GetValue<string>()))
                    .Select(l => $"{l!["src"]!.GetValue<string>()}|{l["dst"]!.GetValue<string>()}|{l["latest"]!["latencyMs"]!.GetValue<double>()}")
                    .Order().ToList();
                return seen.Count == expected.Count ? seen : null;
            }, seconds: 60);
            listed.ShouldBe(expected);
        }
    }
}
