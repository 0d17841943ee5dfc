using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeNet.Streams.Deployment;
using ComputeNet.Streams.Registration;
using ComputeNet.Tests.TestSupport;
using Confluent.Kafka;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// Scheduling as a user meets it: nodes registered with kcat, an app submitted with the CLI, deploy commands
/// read from computenet.agent-commands with kcat, acks produced with kcat as agents would, the app Running,
/// and `computenet plan` explaining the decision.
/// </summary>
public sealed class SchedulingEndToEndTests
{
    private static string Registration(string nodeId, string tier, double cpuCores) =>
        $"{nodeId}|{{\"nodeId\":\"{nodeId}\",\"region\":\"cn-east\",\"tier\":\"{tier}\",\"cpuCores\":{cpuCores},\"memoryGb\":64," +
        "\"storageGb\":500,\"gpus\":1,\"reliability\":0.999,\"powerIdleW\":80,\"powerPeakW\":300}";

    private const string AppSpec = """
        {"name":"camera-analytics","kind":"complex","accessPoints":["edge-a"],
         "components":[
           {"id":"ingest","image":"computenet/ingest:1","cpuCores":2,"memoryGb":2,"storageGb":1,"workMiPerRequest":10,"requestsPerSecond":30,
            "executionTimeThresholdMs":20,"reliabilityThreshold":0.99,"pinning":{"kind":"accessNode"}},
           {"id":"detector","image":"computenet/detector:3","cpuCores":4,"memoryGb":8,"storageGb":5,"workMiPerRequest":40,"requestsPerSecond":30,
            "executionTimeThresholdMs":50,"reliabilityThreshold":0.99,"antiAffinityGroup":"split"},
           {"id":"archive","image":"computenet/archive:1","cpuCores":2,"memoryGb":4,"storageGb":100,"reliabilityThreshold":0.99,
            "antiAffinityGroup":"split","pinning":{"kind":"tier","target":"cloud"}}],
         "dependencies":[
           {"from":"ingest","to":"detector","dataRateMbps":20,"transferDelayThresholdMs":30},
           {"from":"detector","to":"archive","dataRateMbps":1}]}
        """;

    [Fact]
    public async Task Submitted_app_is_placed_deploy_commands_appear_on_kafka_agent_acks_make_it_running_and_plan_explains()
    {
        Kcat.Require();
        using var data = new TempDirectory("computenet-scheduling-e2e");
        await using var host = await HostProcess.StartAsync(data.Path);
        var kafka = host.KafkaBootstrap;

        await Kcat.ProduceAsync(kafka, "computenet.registrations",
            [Registration("edge-a", "edge", 16), Registration("edge-b", "edge", 16), Registration("cloud-c", "cloud", 64)]);
        await Eventually.GetAsync(async () =>
        {
            var nodes = await host.GetJsonAsync<JsonObject>("/api/nodes");
            return nodes["count"]!.GetValue<int>() == 3 ? nodes : null;
        });
        var tokens = (await Kcat.ConsumeAllAsync(kafka, "computenet.agent-commands"))
            .Select(line => AgentCommand.FromJsonBytes(System.Text.Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..])))
            .OfType<ProvisionAgent>()
            .ToDictionary(p => p.NodeId, p => p.AgentToken);
        tokens.Count.ShouldBe(3);

        // Links so that ingest → detector (20 Mbps, 30 ms) can cross nodes.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // The link keys ("src|dst") hold kcat's key separator, so an ordinary producer sends them.
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka }).Build())
        {
            foreach (var (src, dst, latencyMs) in new[] { ("edge-a", "edge-b", 2), ("edge-b", "cloud-c", 8) })
                await producer.ProduceAsync("computenet.link-telemetry", new Message<string, string>
                {
                    Key = $"{src}|{dst}",
                    Value = $"{{\"src\":\"{src}\",\"dst\":\"{dst}\",\"agentToken\":\"{tokens[src]}\",\"seq\":1,\"ts\":{now},\"capacityMbps\":10000," +
                            $"\"availableMbps\":9000,\"latencyMs\":{latencyMs},\"lossRate\":0,\"up\":true}}",
                });
        }
        await Eventually.GetAsync(async () =>
        {
            var topology = await host.GetJsonAsync<JsonObject>("/api/topology");
            return topology["links"]!.AsArray().Count(l => l!["up"]!.GetValue<bool>()) == 2 ? topology : null;
        });

        var specFile = Path.Combine(data.Path, "app.json");
        await File.WriteAllTextAsync(specFile, AppSpec);
        var (exit, stdout, stderr) = await host.RunCliAsync("submit", specFile);
        exit.ShouldBe(0, stderr);
        var appId = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

        var deploys = await Eventually.GetAsync(async () =>
        {
            var commands = (await Kcat.ConsumeAllAsync(kafka, "computenet.agent-commands"))
                .Select(line => (Key: line[..line.IndexOf('|')], Command: AgentCommand.FromJsonBytes(System.Text.Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..]))))
                .Where(c => c.Command is DeploySubtask d && d.AppId == appId)
                .ToList();
            // Each node's deploy command is published on its own, so wait until every planned subtask has one.
            if (commands.Count == 0 || await Lifecycle(host, appId) != "deploying") return null;
            var planned = (await host.GetJsonAsync<JsonObject>($"/api/apps/{appId}/plan"))["subtasks"]!.AsArray().Count;
            return commands.Select(c => ((DeploySubtask)c.Command).SubtaskId).Distinct().Count() == planned ? commands : null;
        }, seconds: 60);
        deploys.ShouldAllBe(d => d.Key == d.Command.NodeId);
        var commandsOfApp = deploys.Select(d => (DeploySubtask)d.Command).ToList();
        commandsOfApp.SelectMany(d => d.Components.Select(c => c.Image)).ShouldBe(
            ["computenet/ingest:1", "computenet/detector:3", "computenet/archive:1"], ignoreOrder: true);
        commandsOfApp.Single(d => d.Components.Any(c => c.ComponentId == "ingest")).NodeId.ShouldBe("edge-a", "ingest is pinned to the user's access node");
        commandsOfApp.Single(d => d.Components.Any(c => c.ComponentId == "archive")).NodeId.ShouldBe("cloud-c", "archive is pinned to the cloud tier");
        commandsOfApp.ShouldAllBe(d => d.AckTopic == "computenet.agent-acks");

        // A forged ack is dead-lettered; the agents' real acks make the app Running.
        var first = commandsOfApp[0];
        var forged = new AgentAck(first.NodeId, "forged", appId, first.DeploymentId, first.SubtaskId, true, null);
        await Kcat.ProduceAsync(kafka, "computenet.agent-acks",
        [
            $"{first.NodeId}|{System.Text.Encoding.UTF8.GetString(AgentAckParser.ToJsonBytes(forged))}",
            .. commandsOfApp.Select(d => $"{d.NodeId}|{System.Text.Encoding.UTF8.GetString(AgentAckParser.ToJsonBytes(
                new AgentAck(d.NodeId, tokens[d.NodeId], d.AppId, d.DeploymentId, d.SubtaskId, true, null)))}"),
        ]);
        await Eventually.GetAsync(async () => await Lifecycle(host, appId) == "running" ? "running" : null, seconds: 60);
        var letters = await Kcat.ConsumeAllAsync(kafka, "computenet.deadletter");
        letters.ShouldContain(l => l.Contains("agentToken does not match"));

        var plan = await host.GetJsonAsync<JsonObject>($"/api/apps/{appId}/plan");
        plan["policy"]!.GetValue<string>().ShouldBe("greedy-objective");
        plan["subtasks"]!.AsArray().ShouldAllBe(s => s!["deployed"]!.GetValue<bool>());
        var (planExit, explained, planErr) = await host.RunCliAsync("plan", appId);
        planExit.ShouldBe(0, planErr);
        explained.ShouldContain("[Running]", Case.Insensitive);
        explained.ShouldContain("policy greedy-objective");
        explained.ShouldContain("cloud-c");
        explained.ShouldContain("objective");
    }

    private static async Task<string> Lifecycle(HostProcess host, string appId) =>
        (await host.GetJsonAsync<JsonObject>($"/api/apps/{appId}"))["lifecycle"]!.GetValue<string>();
}
