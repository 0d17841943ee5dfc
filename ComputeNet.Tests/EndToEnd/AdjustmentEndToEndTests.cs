using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ComputeNet.Streams.Deployment;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Registration;
using ComputeNet.Tests.TestSupport;
using Confluent.Kafka;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// Runtime adjustment (运行调整) on the real host over Kafka: nodes registered and links reported with kcat and an
/// ordinary producer, an app submitted with the CLI, simulated agents answering every command on computenet.agent-acks.
/// A link the app depends on slows down until its transfer-delay budget breaks: LinkDrifted, AppRescheduled and the
/// deploy → switch-traffic → stop commands follow, and only the subtask behind that link moves.
/// </summary>
public sealed class AdjustmentEndToEndTests
{
    private const int BaselineIntervals = 36;
    private const int SlowIntervals = 24;
    private const double BudgetMs = 20;

    // A star around the access node edge-a: each edge node is reachable only over its own link, so a slow link cannot be routed around.
    private static readonly string[] Nodes = ["edge-a", "edge-b", "edge-c", "edge-d"];

    private const string AppSpec = """
        {"name":"video-pipeline","kind":"complex","accessPoints":["edge-a"],
         "components":[
           {"id":"front","image":"computenet/front:1","cpuCores":1,"memoryGb":1,"storageGb":1,"reliabilityThreshold":0.9,
            "antiAffinityGroup":"split","pinning":{"kind":"accessNode"}},
           {"id":"worker","image":"computenet/worker:2","cpuCores":2,"memoryGb":2,"storageGb":1,"reliabilityThreshold":0.9,"antiAffinityGroup":"split"},
           {"id":"archive","image":"computenet/archive:1","cpuCores":1,"memoryGb":2,"storageGb":10,"reliabilityThreshold":0.9,"antiAffinityGroup":"split"}],
         "dependencies":[
           {"from":"front","to":"worker","dataRateMbps":1,"transferDelayThresholdMs":20},
           {"from":"worker","to":"archive","dataRateMbps":1}]}
        """;

    private static string[] HostArgs(string kafka) =>
    [
        "--kafka", kafka,
        // One-second forecasting intervals so a test can replay a minute of agent time; drift thresholds keep their defaults.
        "--ComputeNet:Forecast:IntervalMs=1000",
        "--ComputeNet:Telemetry:AggregationIntervalMs=200", "--ComputeNet:Telemetry:CheckpointIntervalMs=300",
        "--ComputeNet:Telemetry:SilenceTimeoutMs=600000",
        // Only drift events trigger here (the periodic check would find the broken budget on its own as well).
        "--ComputeNet:Adjustment:CheckIntervalMs=600000", "--ComputeNet:Adjustment:TriggerHoldMs=1000",
        "--ComputeNet:Scheduling:AckTimeoutMs=120000",
    ];

    /// <summary>Agents as `computenet simulate` runs them: every command for a known node is acknowledged, unless held back.</summary>
    private sealed class SimulatedAgents : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public SimulatedAgents(string kafka, IReadOnlyDictionary<string, string> tokens, Func<AgentCommand, bool>? holdBack = null) =>
            _loop = Task.Factory.StartNew(() => Run(kafka, tokens, holdBack ?? (_ => false)), TaskCreationOptions.LongRunning);

        /// <summary>Commands in the order the agents received them.</summary>
        public ConcurrentQueue<AgentCommand> Received { get; } = new();

        private void Run(string kafka, IReadOnlyDictionary<string, string> tokens, Func<AgentCommand, bool> holdBack)
        {
            using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka }).Build();
            using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
            {
                BootstrapServers = kafka, GroupId = $"test-agents-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
            }).Build();
            consumer.Subscribe("computenet.agent-commands");
            while (!_stop.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message?.Value is not { } value) continue;
                var command = AgentCommand.FromJsonBytes(value);
                Received.Enqueue(command);
                if (!tokens.TryGetValue(command.NodeId, out var token) || holdBack(command) || AgentAck.Success(command, token) is not { } success) continue;
                producer.Produce(success.Topic, new Message<string, byte[]> { Key = success.Ack.NodeId, Value = AgentAckParser.ToJsonBytes(success.Ack) });
            }
            producer.Flush(TimeSpan.FromSeconds(5));
            consumer.Close();
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
        }
    }

    /// <summary>Link reports of edge-a's three links, one per second of agent time from <paramref name="start"/>; <paramref name="slow"/> gets <paramref name="slowMs"/>.</summary>
    private static async Task ReportLinks(string kafka, string token, long start, int fromInterval, int intervals, string? slow = null, double slowMs = 0)
    {
        var random = new Random(11 + fromInterval);
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka }).Build();
        for (var i = fromInterval; i < fromInterval + intervals; i++)
            foreach (var (dst, n) in Nodes.Skip(1).Select((d, n) => (d, n)))
            {
                var latency = dst == slow ? slowMs + random.NextDouble() : 2 + 0.1 * random.NextDouble();
                // The link keys ("src|dst") hold kcat's key separator, so an ordinary producer sends them.
                producer.Produce("computenet.link-telemetry", new Message<string, string>
                {
                    Key = $"edge-a|{dst}",
                    Value = $"{{\"src\":\"edge-a\",\"dst\":\"{dst}\",\"agentToken\":\"{token}\",\"seq\":{i * 3 + n + 1},\"ts\":{start + i * 1000}," +
                            $"\"capacityMbps\":1000,\"availableMbps\":900,\"latencyMs\":{latency:0.###},\"lossRate\":0,\"up\":true}}",
                });
            }
        producer.Flush(TimeSpan.FromSeconds(10));
        await Task.CompletedTask;
    }

    private static async Task<string> Submit(HostProcess host, string dir)
    {
        var specFile = Path.Combine(dir, "app.json");
        await File.WriteAllTextAsync(specFile, AppSpec);
        var (exit, stdout, stderr) = await host.RunCliAsync("submit", specFile);
        exit.ShouldBe(0, stderr);
        return stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    }

    private static async Task<JsonObject> Plan(HostProcess host, string appId) => await host.GetJsonAsync<JsonObject>($"/api/apps/{appId}/plan");

    private static async Task<JsonObject> WaitFor(HostProcess host, string appId, string lifecycle, int seconds = 60, Func<JsonObject, bool>? and = null) =>
        await Eventually.GetAsync(async () =>
        {
            var plan = await Plan(host, appId);
            return plan["lifecycle"]!.GetValue<string>() == lifecycle && (and?.Invoke(plan) ?? true) ? plan : null;
        }, seconds);

    private static Dictionary<string, string> Placement(JsonObject plan) =>
        plan["subtasks"]!.AsArray().ToDictionary(s => s!["subtaskId"]!.GetValue<string>(), s => s!["nodeId"]!.GetValue<string>());

    /// <summary>The subtask that runs <paramref name="component"/>, from the deploy commands the agents received.</summary>
    private static string SubtaskOf(SimulatedAgents agents, string appId, string component) =>
        agents.Received.OfType<DeploySubtask>().First(d => d.AppId == appId && d.Components.Any(c => c.ComponentId == component)).SubtaskId;

    private static async Task<(HostProcess Host, Dictionary<string, string> Tokens, long Start)> StartFleet(EmbeddedKafka kafka, string dataDir, int apiPort)
    {
        var host = await HostProcess.StartAsync(dataDir, apiPort, null, HostArgs(kafka.BootstrapServers));
        var tokens = await KcatFleet.RegisterAsync(kafka.BootstrapServers, Nodes);
        // A minute and a bit of agent time ending now: the baseline first, the slow-down later.
        var start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000 - BaselineIntervals - SlowIntervals - 2) * 1000;
        await ReportLinks(kafka.BootstrapServers, tokens["edge-a"], start, 0, BaselineIntervals);
        await Eventually.GetAsync(async () =>
        {
            var topology = await host.GetJsonAsync<JsonObject>("/api/topology");
            return topology["links"]!.AsArray().Count(l => l!["up"]!.GetValue<bool>()) == 3 ? topology : null;
        });
        return (host, tokens, start);
    }

    [Fact]
    public async Task A_link_slowing_past_its_transfer_delay_budget_moves_only_the_subtask_behind_it_make_before_break_with_the_chain_in_journal_and_on_kafka()
    {
        Kcat.Require();
        using var data = new TempDirectory("computenet-e2e-adjust");
        using var kafka = KcatFleet.StartBroker();
        var (started, tokens, start) = await StartFleet(kafka, data.Path, HostProcess.FreePort());
        await using var host = started;
        await using var agents = new SimulatedAgents(kafka.BootstrapServers, tokens);

        var appId = await Submit(host, data.Path);
        var before = Placement(await WaitFor(host, appId, "running"));
        var worker = SubtaskOf(agents, appId, "worker");
        var slowNode = before[worker];
        slowNode.ShouldNotBe("edge-a");

        // The worker's link triples and more: 40 ms against a 20 ms budget.
        await ReportLinks(kafka.BootstrapServers, tokens["edge-a"], start, BaselineIntervals, SlowIntervals, slow: slowNode, slowMs: 2 * BudgetMs);

        var after = Placement(await WaitFor(host, appId, "running", seconds: 90, and: p => Placement(p)[worker] != slowNode));
        foreach (var (subtask, node) in before)
            if (subtask != worker) after[subtask].ShouldBe(node, $"{subtask} does not depend on the slow link and must not move");
        var newNode = after[worker];
        newNode.ShouldNotBe("edge-a");

        // Drift, decision and outcome on computenet.events.
        var events = await Eventually.GetAsync(async () =>
        {
            var records = await Kcat.ConsumeAllAsync(kafka.BootstrapServers, "computenet.events");
            return records.Any(r => r.Contains("\"app-migration-completed\"")) ? records : null;
        }, seconds: 30);
        var parsed = events.Select(r => JsonNode.Parse(r[r.IndexOf('{')..])!).ToList(); // link keys hold '|' themselves
        var drifted = parsed.Single(e => e["type"]!.GetValue<string>() == "link-drifted");
        drifted["entity"]!.GetValue<string>().ShouldContain(slowNode);
        drifted["event"]!["metric"]!.GetValue<string>().ShouldBe("latency_ms");
        var rescheduled = parsed.Single(e => e["type"]!.GetValue<string>() == "app-rescheduled");
        rescheduled["entity"]!.GetValue<string>().ShouldBe(appId);
        rescheduled["event"]!["trigger"]!.GetValue<string>().ShouldContain("link-drifted");
        rescheduled["event"]!["reason"]!.GetValue<string>().ShouldContain("TransferDelay");
        var moves = rescheduled["event"]!["moves"]!.AsArray();
        moves.Count.ShouldBe(1);
        moves[0]!["subtaskId"]!.GetValue<string>().ShouldBe(worker);
        moves[0]!["fromNodeId"]!.GetValue<string>().ShouldBe(slowNode);
        moves[0]!["toNodeId"]!.GetValue<string>().ShouldBe(newNode);
        var migrationId = rescheduled["event"]!["migrationId"]!.GetValue<string>();
        // Records of different keys sit in different partitions (no order between them): the trigger names the drift instead.
        rescheduled["event"]!["trigger"]!.GetValue<string>().ShouldContain($"link-drifted {drifted["entity"]!.GetValue<string>()} latency_ms up");

        // Make-before-break on computenet.agent-commands: deploy on the new node, switch the peers, then stop the old instance.
        var received = agents.Received.ToList();
        var deploy = received.FindIndex(c => c is DeploySubtask d && d.DeploymentId == migrationId && d.NodeId == newNode && d.SubtaskId == worker);
        var switches = received.Select((c, i) => (c, i)).Where(p => p.c is SwitchTraffic s && s.MigrationId == migrationId).ToList();
        var stop = received.FindIndex(c => c is StopSubtask s && s.MigrationId == migrationId && s.NodeId == slowNode && s.SubtaskId == worker);
        deploy.ShouldBeGreaterThanOrEqualTo(0);
        switches.Count.ShouldBe(2, "the worker's two peers (front, archive) switch to the new instance");
        switches.ShouldAllBe(p => p.i > deploy && p.i < stop);
        switches.Select(p => ((SwitchTraffic)p.c).Peers.Single()).ShouldAllBe(peer => peer.SubtaskId == worker && peer.NodeId == newNode);
        received.OfType<DeploySubtask>().Count(d => d.DeploymentId == migrationId).ShouldBe(1, "only the worker is deployed anew");

        // The journal tells the whole chain: the app's history, recovered from its events, and the drift list.
        var history = (await host.GetJsonAsync<JsonObject>($"/api/apps/{appId}"))["history"]!.AsArray()
            .Select(h => (Lifecycle: h!["lifecycle"]!.GetValue<string>(), Reason: h["reason"]!.GetValue<string>())).ToList();
        var adjusting = history.FindIndex(h => h.Lifecycle == "adjusting");
        adjusting.ShouldBeGreaterThan(0);
        history[adjusting].Reason.ShouldContain("link-drifted");
        history[adjusting].Reason.ShouldContain($"{worker} {slowNode} → {newNode}");
        history[^1].Lifecycle.ShouldBe("running");
        history[^1].Reason.ShouldContain($"migration {migrationId} done");
        var drift = await host.Http.GetFromJsonAsync<JsonObject>("/api/events?type=drift");
        drift!["events"]!.AsArray().ShouldContain(e => e!["type"]!.GetValue<string>() == "link-drifted");

        // Capacity follows the subtask: the old node gave it back, the new node holds it, nothing is left reserved.
        var oldLedger = await host.GetJsonAsync<JsonObject>($"/api/nodes/{slowNode}/capacity");
        oldLedger["allocations"]!.AsArray().ShouldNotContain(a => a!["subtaskId"]!.GetValue<string>() == worker && a["appId"]!.GetValue<string>() == appId);
        var newLedger = await host.GetJsonAsync<JsonObject>($"/api/nodes/{newNode}/capacity");
        newLedger["allocations"]!.AsArray().ShouldContain(a => a!["subtaskId"]!.GetValue<string>() == worker && a["appId"]!.GetValue<string>() == appId);
        newLedger["reservations"]!.AsArray().Count.ShouldBe(0);
    }

    [Fact]
    public async Task A_host_killed_mid_migration_completes_it_after_restart_and_every_ledger_holds_exactly_the_placement()
    {
        Kcat.Require();
        using var data = new TempDirectory("computenet-e2e-adjust-crash");
        using var kafka = KcatFleet.StartBroker();
        var apiPort = HostProcess.FreePort();
        var (started, tokens, start) = await StartFleet(kafka, data.Path, apiPort);
        string appId, worker, slowNode;
        Dictionary<string, string> before;
        await using (var host = started)
        {
            // The agents never answer a migration's deploy: the host is killed while it waits for that ack.
            await using var agents = new SimulatedAgents(kafka.BootstrapServers, tokens, holdBack: c => c is DeploySubtask d && d.DeploymentId.Contains(":m"));
            appId = await Submit(host, data.Path);
            before = Placement(await WaitFor(host, appId, "running"));
            worker = SubtaskOf(agents, appId, "worker");
            slowNode = before[worker];
            await ReportLinks(kafka.BootstrapServers, tokens["edge-a"], start, BaselineIntervals, SlowIntervals, slow: slowNode, slowMs: 2 * BudgetMs);

            await WaitFor(host, appId, "adjusting", seconds: 90);
            // The new node has committed the worker's capacity and its deploy command is out: mid-migration.
            await Eventually.GetAsync(async () => agents.Received.OfType<DeploySubtask>().FirstOrDefault(d => d.DeploymentId.Contains(":m")), seconds: 30);
            await host.KillAsync();
        }

        await using var restarted = await HostProcess.StartAsync(data.Path, apiPort, null, HostArgs(kafka.BootstrapServers));
        await using var healed = new SimulatedAgents(kafka.BootstrapServers, tokens);
        var after = Placement(await WaitFor(restarted, appId, "running", seconds: 90, and: p => Placement(p)[worker] != slowNode));
        foreach (var (subtask, node) in before)
            if (subtask != worker) after[subtask].ShouldBe(node);

        // Capacity accounting is exact on every node: the app's allocations are its placement, nothing stays reserved.
        await Eventually.GetAsync(async () =>
        {
            foreach (var node in Nodes)
            {
                var ledger = await restarted.GetJsonAsync<JsonObject>($"/api/nodes/{node}/capacity");
                var held = ledger["allocations"]!.AsArray().Where(a => a!["appId"]!.GetValue<string>() == appId)
                    .Select(a => a!["subtaskId"]!.GetValue<string>()).Order().ToList();
                var placed = after.Where(p => p.Value == node).Select(p => p.Key).Order().ToList();
                if (!held.SequenceEqual(placed) || ledger["reservations"]!.AsArray().Count > 0) return null;
            }
            return "exact";
        }, seconds: 60);
        var history = (await restarted.GetJsonAsync<JsonObject>($"/api/apps/{appId}"))["history"]!.AsArray();
        history.Count(h => h!["lifecycle"]!.GetValue<string>() == "adjusting").ShouldBe(1, "the migration resumed, it was not decided twice");
        history[^1]!["reason"]!.GetValue<string>().ShouldContain("done");
    }
}
