using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using ComputeNet.Actors.Nodes;
using ComputeNet.Host.Hosting;
using ComputeNet.Streams;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Registration;
using ComputeNet.Tests.TestSupport;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams.Registration;

/// <summary>
/// The registration pipeline on the embedded broker over TCP, a one-node cluster with the host's own
/// sharding and SQLite persistence wiring: garbage is dead-lettered with its coordinates, every valid
/// record behind it is applied, and offsets are committed up to the end only once effects are durable.
/// </summary>
public sealed class RegistrationPipelineTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("computenet-pipeline");
    private readonly EmbeddedKafka _kafka = EmbeddedKafka.Start(HostProcess.FreePort());
    private readonly TopicNames _topics = new()
    {
        Registrations = $"reg-{Guid.NewGuid():N}",
        AgentCommands = $"cmd-{Guid.NewGuid():N}",
        DeadLetter = $"dlq-{Guid.NewGuid():N}",
    };
    private IHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _kafka.CreateTopic(_topics.Registrations, 3);
        _kafka.CreateTopic(_topics.AgentCommands, 3);
        _kafka.CreateTopic(_topics.DeadLetter, 1);
        var db = PersistenceSetup.Resolve(new PersistenceOptions(), _data.Path);
        var cluster = new ClusterNodeOptions();
        _host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("pipeline-test", (akka, _) => akka
                .WithComputeNetSerialization()
                .WithComputeNetPersistence(db)
                .WithComputeNetCluster(cluster)
                .WithComputeNetNodes(cluster, new NodeActorSettings())))
            .Build();
        await _host.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _kafka.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    private static string ValidJson(string nodeId, int cores) =>
        $"{{\"nodeId\":\"{nodeId}\",\"region\":\"r1\",\"tier\":\"edge\",\"cpuCores\":{cores},\"memoryGb\":16,\"storageGb\":100," +
        "\"gpus\":0,\"reliability\":0.95,\"powerIdleW\":50,\"powerPeakW\":150}";

    [Fact]
    public async Task Garbage_is_dead_lettered_and_every_valid_record_behind_it_is_applied_then_committed()
    {
        var random = new Random(11);
        var produced = new List<(string Key, byte[] Value, bool Valid)>();
        for (var i = 0; i < 300; i++)
        {
            var nodeId = $"n{i % 120}";
            if (i % 5 == 2)
            {
                var garbage = new byte[random.Next(1, 200)];
                random.NextBytes(garbage);
                produced.Add((nodeId, garbage, false));
            }
            else if (i % 5 == 4)
            {
                produced.Add((nodeId, System.Text.Encoding.UTF8.GetBytes(ValidJson(nodeId, -1)), false)); // schema violation
            }
            else
            {
                produced.Add((nodeId, System.Text.Encoding.UTF8.GetBytes(ValidJson(nodeId, 1 + i)), true));
            }
        }

        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers }).Build())
        {
            foreach (var (key, value, _) in produced)
                await producer.ProduceAsync(_topics.Registrations, new Message<string, byte[]> { Key = key, Value = value });
        }

        var system = _host.Services.GetRequiredService<ActorSystem>();
        var region = await _host.Services.GetRequiredService<IRequiredActor<NodeRegion>>().GetAsync();
        var connection = new KafkaConnection(_kafka.BootstrapServers);
        using var publisher = new KafkaPublisher(new ProducerSettings(connection));
        var handler = new RegistrationHandler(region, publisher, new RegistrationSettings(_topics, 64 * 1024, TimeSpan.FromSeconds(10)), TimeProvider.System);
        var groupId = $"g-{Guid.NewGuid():N}";
        var (killSwitch, completion) = RegistrationPipeline.Run(system.Materializer(), new ConsumerSettings(connection, groupId), _topics.Registrations, handler);

        // Committed offsets reach the end of every partition only after every effect is durable.
        using var admin = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = groupId }).Build();
        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(_topics.Registrations, p)).ToList();
        var ends = partitions.ToDictionary(p => p.Partition.Value, p => admin.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(5)).High.Value);
        ends.Values.Sum().ShouldBe(produced.Count);
        await Eventually.TrueAsync(() =>
        {
            var committed = admin.Committed(partitions, TimeSpan.FromSeconds(5));
            return committed.All(c => c.Offset.Value == ends[c.Partition.Value]);
        }, 60);

        // Every node's last valid record is what its actor holds.
        var lastValid = produced.Where(p => p.Valid).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last());
        foreach (var (nodeId, record) in lastValid)
        {
            var view = await region.Ask<NodeReplies.NodeView>(new NodeQueries.GetNode(nodeId), TimeSpan.FromSeconds(10));
            var expectedCores = System.Text.Json.JsonDocument.Parse(record.Value).RootElement.GetProperty("cpuCores").GetDouble();
            view.Spec.CpuCores.ShouldBe(expectedCores, $"node {nodeId}");
        }

        // Every invalid record is on the dead-letter topic, with its reason and original bytes.
        var letters = ReadAll(_topics.DeadLetter).Select(DeadLetterRecord.FromJsonBytes).ToList();
        letters.Count.ShouldBe(produced.Count(p => !p.Valid));
        letters.ShouldAllBe(l => l.SourceTopic == _topics.Registrations && l.Reason.Length > 0);
        letters.Where(l => l.OriginalValueText != null && l.OriginalValueText.Contains("\"cpuCores\":-1"))
            .ShouldAllBe(l => l.Reason.Contains("'cpuCores' = -1 is out of range"));
        letters.Select(l => Convert.FromBase64String(l.OriginalValueBase64!)).Select(Convert.ToHexString).Order()
            .ShouldBe(produced.Where(p => !p.Valid).Select(p => Convert.ToHexString(p.Value)).Order());

        // One provisioning command per valid record, all with the same token per node.
        var commands = ReadAll(_topics.AgentCommands).Select(AgentCommand.FromJsonBytes).Cast<ProvisionAgent>().ToList();
        commands.Count.ShouldBe(produced.Count(p => p.Valid));
        commands.GroupBy(c => c.NodeId).ShouldAllBe(g => g.Select(c => c.AgentToken).Distinct().Count() == 1);

        killSwitch.Shutdown();
        await completion.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private List<byte[]> ReadAll(string topic) => TopicReader.ReadAll(_kafka.BootstrapServers, topic);
}
