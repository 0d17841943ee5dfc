using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Streams.Registration;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// Node registration as a user meets it: the real host process, kcat producing into its embedded
/// Kafka over TCP, the HTTP API, and a kill -9 followed by a restart on the same data directory.
/// </summary>
public sealed class RegistrationEndToEndTests
{
    private static string Registration(string nodeId, double cpuCores = 16, string tier = "edge") =>
        $"{nodeId}|{{\"nodeId\":\"{nodeId}\",\"region\":\"cn-east\",\"tier\":\"{tier}\",\"cpuCores\":{cpuCores},\"memoryGb\":64," +
        "\"storageGb\":500,\"gpus\":0,\"reliability\":0.99,\"powerIdleW\":80,\"powerPeakW\":300,\"labels\":{\"site\":\"sh-1\"}}";

    [Fact]
    public async Task Kcat_registrations_are_listed_provisioned_dead_lettered_and_survive_kill_9()
    {
        Kcat.Require();
        using var data = new TempDirectory("computenet-e2e");
        var apiPort = HostProcess.FreePort();
        var kafkaPort = HostProcess.FreePort();

        await using (var host = await HostProcess.StartAsync(data.Path, apiPort, kafkaPort))
        {
            host.KafkaBootstrap.ShouldBe($"127.0.0.1:{kafkaPort}");
            await Kcat.ProduceAsync(host.KafkaBootstrap, "computenet.registrations",
            [
                Registration("edge-a"),
                "edge-b|{\"nodeId\":\"edge-b\",\"region\":\"cn-east\"", // malformed JSON
                "edge-c|{\"nodeId\":\"edge-c\",\"region\":\"cn-east\",\"tier\":\"fog\",\"cpuCores\":4,\"memoryGb\":8,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}",
                Registration("edge-d"),
                Registration("edge-a"), // duplicate: changes nothing
                Registration("cloud-e", cpuCores: 128, tier: "cloud"),
            ]);

            var listed = await Eventually.GetAsync(async () =>
            {
                var nodes = await host.GetJsonAsync<JsonObject>("/api/nodes");
                return nodes["count"]!.GetValue<int>() == 3 ? nodes : null;
            });
            listed["nodes"]!.AsArray().Select(n => n!["spec"]!["nodeId"]!.GetValue<string>())
                .ShouldBe(["cloud-e", "edge-a", "edge-d"]);

            var edgeA = await host.GetJsonAsync<JsonObject>("/api/nodes/edge-a");
            edgeA["version"]!.GetValue<long>().ShouldBe(1); // the duplicate persisted nothing
            edgeA["spec"]!["tier"]!.GetValue<string>().ShouldBe("edge");

            var unknown = await host.Http.GetAsync("/api/nodes/edge-c");
            unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            unknown.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");

            var commands = await Eventually.GetAsync(async () =>
            {
                var records = await Kcat.ConsumeAllAsync(host.KafkaBootstrap, "computenet.agent-commands");
                return records.Count >= 4 ? records : null;
            });
            var provisioned = commands.Select(line => (AgentCommand.FromJsonBytes(System.Text.Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..])) as ProvisionAgent)!).ToList();
            provisioned.Select(p => p.NodeId).Order().ShouldBe(["cloud-e", "edge-a", "edge-a", "edge-d"]);
            var edgeAAgents = provisioned.Where(p => p.NodeId == "edge-a").ToList();
            edgeAAgents[0].AgentToken.ShouldBe(edgeAAgents[1].AgentToken); // same agent on re-registration
            edgeAAgents[0].Topics.NodeTelemetry.ShouldBe("computenet.node-telemetry");

            var deadLetters = await Eventually.GetAsync(async () =>
            {
                var records = await Kcat.ConsumeAllAsync(host.KafkaBootstrap, "computenet.deadletter");
                return records.Count >= 2 ? records : null;
            });
            var letters = deadLetters.Select(line => DeadLetterRecord.FromJsonBytes(System.Text.Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..])))
                .OrderBy(l => l.Key).ToList();
            letters.Count.ShouldBe(2);
            letters[0].Key.ShouldBe("edge-b");
            letters[0].Reason.ShouldStartWith("malformed JSON");
            letters[0].OriginalValueText.ShouldBe("{\"nodeId\":\"edge-b\",\"region\":\"cn-east\"");
            letters[0].SourceTopic.ShouldBe("computenet.registrations");
            letters[1].Key.ShouldBe("edge-c");
            letters[1].Reason.ShouldContain("unknown tier 'fog'");

            var metrics = await host.Http.GetStringAsync("/metrics");
            metrics.ShouldContain("outcome=\"registered\"} 3");
            metrics.ShouldContain("outcome=\"unchanged\"} 1");
            metrics.ShouldContain("reason=\"malformed-json\",source=\"computenet.registrations\"} 1");
            metrics.ShouldContain("reason=\"unknown-tier\",source=\"computenet.registrations\"} 1");

            await host.KillAsync(); // kill -9
        }

        await using (var restarted = await HostProcess.StartAsync(data.Path, apiPort, kafkaPort))
        {
            var nodes = await Eventually.GetAsync(async () =>
            {
                var list = await restarted.GetJsonAsync<JsonObject>("/api/nodes");
                return list["count"]!.GetValue<int>() == 3 ? list : null;
            });
            nodes["nodes"]!.AsArray().Count.ShouldBe(3);
            var edgeA = await restarted.GetJsonAsync<JsonObject>("/api/nodes/edge-a");
            edgeA["spec"]!["labels"]!["site"]!.GetValue<string>().ShouldBe("sh-1");
            edgeA["version"]!.GetValue<long>().ShouldBe(1);
            await restarted.StopAsync();
        }
    }
}
