using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Host.Hosting;
using ComputeNet.Streams;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Telemetry;
using ComputeNet.Tests.Actors.Persistence;
using ComputeNet.Tests.TestSupport;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams.Telemetry;

/// <summary>
/// The telemetry pipeline on the embedded broker over TCP with the host's own sharding, topology and
/// SQLite wiring: garbage is dead-lettered and every valid record applied exactly once per seq; the
/// broker going away for 10 s loses nothing; a silent node goes down and comes back up.
/// </summary>
public sealed class TelemetryPipelineTests : IAsyncLifetime
{
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(2);
    private readonly TempDirectory _data = new("computenet-telemetry");
    private readonly EmbeddedKafka _kafka = EmbeddedKafka.Start(HostProcess.FreePort());
    private readonly TopicNames _topics = new()
    {
        NodeTelemetry = $"nt-{Guid.NewGuid():N}",
        LinkTelemetry = $"lt-{Guid.NewGuid():N}",
        DeadLetter = $"dlq-{Guid.NewGuid():N}",
    };
    private IHost _host = null!;
    private IActorRef _region = null!;
    private IActorRef _topology = null!;
    private ActorSystem _system = null!;

    public async ValueTask InitializeAsync()
    {
        _kafka.CreateTopic(_topics.NodeTelemetry, 4);
        _kafka.CreateTopic(_topics.LinkTelemetry, 2);
        _kafka.CreateTopic(_topics.DeadLetter, 4); // the mock keeps 5 MiB per partition; 10,000 dead letters need more
        var db = PersistenceSetup.Resolve(new PersistenceOptions(), _data.Path);
        var cluster = new ClusterNodeOptions();
        _host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("telemetry-test", (akka, _) => akka
                .WithComputeNetSerialization()
                .WithComputeNetPersistence(db)
                .WithComputeNetCluster(cluster)
                .WithComputeNetNodes(cluster, new NodeActorSettings { SilenceTimeout = Silence })
                .WithComputeNetTopology(new TopologyActorSettings { SilenceTimeout = Silence, SweepInterval = TimeSpan.FromMilliseconds(250) })))
            .Build();
        await _host.StartAsync();
        _system = _host.Services.GetRequiredService<ActorSystem>();
        _region = await _host.Services.GetRequiredService<IRequiredActor<NodeRegion>>().GetAsync();
        _topology = await _host.Services.GetRequiredService<IRequiredActor<TopologyKey>>().GetAsync();
        if (Environment.GetEnvironmentVariable("COMPUTENET_TEST_AKKA_LOG") is { } logFile)
        {
            var logger = Akka.Actor.Dsl.ActExtensions.ActorOf(_system, act => act.ReceiveAny((o, _) => File.AppendAllText(logFile, $"{DateTime.UtcNow:HH:mm:ss.fff} {o}\n")));
            _system.EventStream.Subscribe(logger, typeof(Akka.Event.Warning));
            _system.EventStream.Subscribe(logger, typeof(Akka.Event.Error));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _kafka.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    private async Task<Dictionary<string, string>> Register(int count)
    {
        var tokens = new Dictionary<string, string>();
        for (var i = 0; i < count; i++)
        {
            var spec = SerializerTests.Spec with { NodeId = $"n{i}" };
            var accepted = await _region.Ask<NodeReplies.RegistrationAccepted>(new NodeCommands.RegisterNode(spec), TimeSpan.FromSeconds(10));
            tokens[spec.NodeId] = accepted.Agent.AgentToken;
        }
        return tokens;
    }

    public static string NodeJson(string nodeId, string token, long seq, double cpu = 2, bool up = true, long? ts = null) =>
        $"{{\"nodeId\":\"{nodeId}\",\"agentToken\":\"{token}\",\"seq\":{seq},\"ts\":{ts ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}," +
        $"\"cpuUsedCores\":{cpu},\"memoryUsedGb\":8,\"storageUsedGb\":50,\"gpuUsed\":0,\"powerW\":120,\"up\":{(up ? "true" : "false")}}}";

    private static string LinkJson(string src, string dst, string token, long seq, double latencyMs, bool up = true) =>
        $"{{\"src\":\"{src}\",\"dst\":\"{dst}\",\"agentToken\":\"{token}\",\"seq\":{seq},\"ts\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}," +
        $"\"capacityMbps\":1000,\"availableMbps\":600,\"latencyMs\":{latencyMs},\"lossRate\":0.001,\"up\":{(up ? "true" : "false")}}}";

    private (UniqueKillSwitch, Task) Run(string groupId, TelemetrySettings? settings = null)
    {
        var connection = new KafkaConnection(_kafka.BootstrapServers);
        var publisher = new KafkaPublisher(new ProducerSettings(connection));
        settings ??= new TelemetrySettings(_topics, TimeSpan.FromSeconds(10))
        {
            AggregationInterval = TimeSpan.FromMilliseconds(200),
            CheckpointInterval = TimeSpan.FromMilliseconds(300),
        };
        var handler = new TelemetryHandler(_region, _topology, publisher, settings, TimeProvider.System);
        return TelemetryPipeline.Run(_system.Materializer(), new ConsumerSettings(connection, groupId) { BufferSize = 4096 }, handler, settings, _region, _topology);
    }

    [Fact]
    public async Task Garbage_and_forged_records_are_dead_lettered_and_every_valid_record_is_applied_once_then_committed()
    {
        var tokens = await Register(20);
        var random = new Random(3);
        var expectedApplied = new Dictionary<string, int>();
        var highestValid = new Dictionary<string, long>();
        var deadLettersExpected = 0;
        var seqs = tokens.Keys.ToDictionary(n => n, _ => 0L);
        using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, LingerMs = 5 }).Build())
        {
            void Produce(string? key, byte[] value) => producer.Produce(_topics.NodeTelemetry, new Message<string?, byte[]> { Key = key, Value = value });
            for (var i = 0; i < 13_000; i++)
            {
                var node = $"n{random.Next(20)}";
                switch (i % 13)
                {
                    case 1 or 4 or 7 or 10: // random bytes
                        var garbage = new byte[random.Next(1, 300)];
                        random.NextBytes(garbage);
                        Produce(node, garbage);
                        deadLettersExpected++;
                        break;
                    case 2 or 5 or 8: // schema violations: NaN as string, negative, stale seconds timestamp
                        var bad = (i % 3) switch
                        {
                            0 => NodeJson(node, tokens[node], 1).Replace("\"cpuUsedCores\":2", "\"cpuUsedCores\":\"NaN\""),
                            1 => NodeJson(node, tokens[node], 1, cpu: -2),
                            _ => NodeJson(node, tokens[node], 1, ts: DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
                        };
                        Produce(node, Encoding.UTF8.GetBytes(bad));
                        deadLettersExpected++;
                        break;
                    case 11: // forged token, unknown node, over capacity (8 cores + 10 %)
                        Produce(node, Encoding.UTF8.GetBytes(NodeJson(node, "forged-token", 1_000_000)));
                        Produce("ghost", Encoding.UTF8.GetBytes(NodeJson("ghost", "whatever", 1)));
                        Produce(node, Encoding.UTF8.GetBytes(NodeJson(node, tokens[node], ++seqs[node], cpu: 64)));
                        deadLettersExpected += 3;
                        break;
                    default:
                        var seq = ++seqs[node];
                        Produce(node, Encoding.UTF8.GetBytes(NodeJson(node, tokens[node], seq, cpu: seq % 8)));
                        if (seq % 10 == 0) Produce(node, Encoding.UTF8.GetBytes(NodeJson(node, tokens[node], seq - 1))); // duplicate: ignored
                        expectedApplied[node] = expectedApplied.GetValueOrDefault(node) + 1;
                        highestValid[node] = seq;
                        break;
                }
            }
            // Links: n0 reports n0|n1 and n1|n2 (not an endpoint of the second: rejected).
            producer.Produce(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n0|n1", Value = Encoding.UTF8.GetBytes(LinkJson("n0", "n1", tokens["n0"], 1, 3)) });
            producer.Produce(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n1|n2", Value = Encoding.UTF8.GetBytes(LinkJson("n1", "n2", tokens["n2"], 1, 4)) });
            producer.Produce(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n0|n2", Value = Encoding.UTF8.GetBytes(LinkJson("n0", "n2", tokens["n2"], 1, 20)) });
            producer.Produce(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n1|n2", Value = Encoding.UTF8.GetBytes(LinkJson("n1", "n2", tokens["n0"], 2, 1)) });
            deadLettersExpected++;
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var groupId = $"g-{Guid.NewGuid():N}";
        var (checkpointsBefore, checkpointTimeBefore) = (CheckpointMetrics.Checkpoints, CheckpointMetrics.TotalDuration);
        var (killSwitch, completion) = Run(groupId);
        await AwaitCommittedToEnd(groupId, TimeSpan.FromSeconds(90));
        // Offsets are committed only behind checkpoints, and each one is counted and timed.
        CheckpointMetrics.Checkpoints.ShouldBeGreaterThan(checkpointsBefore);
        CheckpointMetrics.TotalDuration.ShouldBeGreaterThan(checkpointTimeBefore);

        foreach (var (node, applied) in expectedApplied)
        {
            var view = await _region.Ask<NodeReplies.NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(node), TimeSpan.FromSeconds(5));
            view.AppliedSamples.ShouldBe(applied, $"node {node}");
            view.HighestSeq.ShouldBe(highestValid[node], $"node {node}");
            view.Health.ShouldNotBe(NodeHealth.Unknown); // up, or down again once silent for 2 s
        }

        var letters = ReadAll(_topics.DeadLetter).Select(DeadLetterRecord.FromJsonBytes).ToList();
        letters.Count.ShouldBe(deadLettersExpected);
        letters.Where(l => l.OriginalValueText?.Contains("forged-token") == true)
            .ShouldAllBe(l => l.Reason.Contains("agentToken does not match the token provisioned for node"));
        letters.Where(l => l.Key == "ghost").ShouldAllBe(l => l.Reason == "node 'ghost' is not registered");
        letters.Where(l => l.SourceTopic == _topics.LinkTelemetry).Single().Reason.ShouldContain("a node may only report links it is an endpoint of");

        // Links silent for the timeout go down; fresh reports bring them back, and paths use them again.
        await AwaitAsync(async () =>
        {
            var view = await _topology.Ask<TopologyReplies.TopologyView>(new TopologyQueries.GetTopology(), TimeSpan.FromSeconds(5));
            return view.Links.Count == 3 && view.Links.All(l => !l.Up && l.DownReason!.StartsWith("no telemetry"));
        }, TimeSpan.FromSeconds(15));
        using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n0|n1", Value = Encoding.UTF8.GetBytes(LinkJson("n0", "n1", tokens["n0"], 2, 3)) });
            await producer.ProduceAsync(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n1|n2", Value = Encoding.UTF8.GetBytes(LinkJson("n1", "n2", tokens["n2"], 2, 4)) });
            await producer.ProduceAsync(_topics.LinkTelemetry, new Message<string?, byte[]> { Key = "n0|n2", Value = Encoding.UTF8.GetBytes(LinkJson("n0", "n2", tokens["n2"], 2, 20)) });
        }
        TopologyReplies.PathView path = null!;
        await AwaitAsync(async () =>
        {
            path = await _topology.Ask<TopologyReplies.PathView>(new TopologyQueries.GetPath("n0", "n2"), TimeSpan.FromSeconds(5));
            return path.Path?.Nodes.Count == 3;
        }, TimeSpan.FromSeconds(15));
        path.Path!.Nodes.ShouldBe(["n0", "n1", "n2"]); // 3 + 4 ms beats the direct 20 ms link
        path.Path.LatencyMs.ShouldBe(7);

        killSwitch.Shutdown();
        await completion.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Broker_down_for_10_s_then_the_pipeline_resumes_and_nothing_is_lost_and_a_silent_node_goes_down_and_up()
    {
        var tokens = await Register(5);
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, LingerMs = 5 }).Build();
        var seqs = tokens.Keys.ToDictionary(n => n, _ => 0L);
        void ProduceRound(int perNode)
        {
            for (var i = 0; i < perNode; i++)
            foreach (var node in tokens.Keys)
                producer.Produce(_topics.NodeTelemetry, new Message<string?, byte[]>
                    { Key = node, Value = Encoding.UTF8.GetBytes(NodeJson(node, tokens[node], ++seqs[node])) });
            producer.Flush(TimeSpan.FromSeconds(60));
        }

        ProduceRound(200);
        var groupId = $"g-{Guid.NewGuid():N}";
        var (killSwitch, completion) = Run(groupId);
        await AwaitAppliedAsync(tokens.Keys, seqs, TimeSpan.FromSeconds(30));

        _kafka.SetBrokerDown(1);
        await Task.Delay(TimeSpan.FromSeconds(10));
        _kafka.SetBrokerUp(1);
        ProduceRound(200);
        await AwaitAppliedAsync(tokens.Keys, seqs, TimeSpan.FromSeconds(60));
        await AwaitCommittedToEnd(groupId, TimeSpan.FromSeconds(60));
        foreach (var node in tokens.Keys)
        {
            var view = await _region.Ask<NodeReplies.NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(node), TimeSpan.FromSeconds(5));
            view.AppliedSamples.ShouldBe(400);
        }

        // Silence: the broker was down for longer than the silence timeout, so the nodes went down; now quiet again.
        await AwaitAsync(async () => (await Telemetry("n0")).Health == NodeHealth.Down, TimeSpan.FromSeconds(15));
        ProduceRound(1);
        await AwaitAsync(async () => (await Telemetry("n0")).Health == NodeHealth.Up, TimeSpan.FromSeconds(15));

        killSwitch.Shutdown();
        await completion.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_burst_is_applied_checkpointed_and_committed_once_the_stream_goes_quiet_without_waiting_out_the_intervals()
    {
        var tokens = await Register(5);
        var intervals = TimeSpan.FromSeconds(40);
        var settings = new TelemetrySettings(_topics, TimeSpan.FromSeconds(10))
        {
            AggregationInterval = intervals, CheckpointInterval = intervals, WindowQuiet = TimeSpan.FromMilliseconds(200),
        };
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, LingerMs = 5 }).Build();
        var seqs = tokens.Keys.ToDictionary(n => n, _ => 0L);
        var groupId = $"g-{Guid.NewGuid():N}";
        var (killSwitch, completion) = Run(groupId, settings);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Two bursts: the first checkpoint may start at once anyway (nothing ran before it); the second must not wait
        // the 40 s checkpoint interval after the first, nor its window the 40 s aggregation interval.
        for (var burst = 1; burst <= 2; burst++)
        {
            for (var i = 0; i < 20; i++)
            foreach (var node in tokens.Keys)
                producer.Produce(_topics.NodeTelemetry, new Message<string?, byte[]>
                    { Key = node, Value = Encoding.UTF8.GetBytes(NodeJson(node, tokens[node], ++seqs[node])) });
            producer.Flush(TimeSpan.FromSeconds(30));
            await AwaitCommittedToEnd(groupId, TimeSpan.FromSeconds(15));
        }

        clock.Elapsed.ShouldBeLessThan(intervals);
        foreach (var node in tokens.Keys) (await Telemetry(node)).AppliedSamples.ShouldBe(40);
        killSwitch.Shutdown();
        await completion.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private Task<NodeReplies.NodeTelemetryView> Telemetry(string node) =>
        _region.Ask<NodeReplies.NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(node), TimeSpan.FromSeconds(5));

    private async Task AwaitAppliedAsync(IEnumerable<string> nodes, Dictionary<string, long> seqs, TimeSpan timeout)
    {
        foreach (var node in nodes)
            await AwaitAsync(async () => (await Telemetry(node)).HighestSeq == seqs[node], timeout);
    }

    private async Task AwaitCommittedToEnd(string groupId, TimeSpan timeout)
    {
        using var admin = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = groupId }).Build();
        var partitions = Enumerable.Range(0, 4).Select(p => new TopicPartition(_topics.NodeTelemetry, p))
            .Concat(Enumerable.Range(0, 2).Select(p => new TopicPartition(_topics.LinkTelemetry, p))).ToList();
        var ends = partitions.ToDictionary(p => p, p => admin.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(5)).High.Value);
        List<TopicPartitionOffset> committed = [];
        try
        {
            await AwaitAsync(() =>
            {
                committed = admin.Committed(partitions, TimeSpan.FromSeconds(5));
                return Task.FromResult(committed.All(c => ends[c.TopicPartition] == 0 || c.Offset.Value == ends[c.TopicPartition]));
            }, timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"committed {string.Join(", ", committed)}; ends {string.Join(", ", ends.Select(e => $"{e.Key}={e.Value}"))}");
        }
    }

    private List<byte[]> ReadAll(string topic) => TopicReader.ReadAll(_kafka.BootstrapServers, topic);

    private static async Task AwaitAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(200);
        }
    }
}
