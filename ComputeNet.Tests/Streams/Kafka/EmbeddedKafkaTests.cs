using System.Text;
using ComputeNet.Streams.Kafka;
using Confluent.Kafka;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams.Kafka;

/// <summary>The librdkafka mock cluster, driven by real Confluent.Kafka clients over loopback TCP.</summary>
public sealed class EmbeddedKafkaTests : IDisposable
{
    private readonly EmbeddedKafka _kafka = EmbeddedKafka.Start(preferredPort: 0);

    public void Dispose() => _kafka.Dispose();

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private IProducer<string, string> Producer() =>
        new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = _kafka.BootstrapServers, Acks = Acks.All, EnableIdempotence = true, LingerMs = 5,
        }).Build();

    private IConsumer<string, string> Consumer(string group) =>
        new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = _kafka.BootstrapServers, GroupId = group, AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false, EnableAutoOffsetStore = false,
            SessionTimeoutMs = 6000, HeartbeatIntervalMs = 500,
        }).Build();

    private static List<ConsumeResult<string, string>> ConsumeUpTo(IConsumer<string, string> consumer, int count, TimeSpan timeout)
    {
        var results = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow + timeout;
        while (results.Count < count && DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is { IsPartitionEOF: false }) results.Add(r);
        }
        return results;
    }

    [Fact]
    public void Thousand_messages_round_trip_through_the_forwarded_bootstrap_port()
    {
        var topic = Unique("roundtrip");
        _kafka.CreateTopic(topic, 2);
        _kafka.BootstrapServers.ShouldNotBe(_kafka.DirectBootstrapServers);

        using (var producer = Producer())
        {
            for (var i = 0; i < 1000; i++)
                producer.Produce(topic, new Message<string, string> { Key = $"k{i % 10}", Value = $"v{i}" });
            producer.Flush(TimeSpan.FromSeconds(10)).ShouldBe(0);
        }

        using var consumer = Consumer(Unique("g"));
        consumer.Subscribe(topic);
        var received = ConsumeUpTo(consumer, 1000, TimeSpan.FromSeconds(20));
        consumer.Close();

        received.Count.ShouldBe(1000);
        received.Select(r => r.Message.Value).ToHashSet().Count.ShouldBe(1000);
        received.Select(r => r.Partition.Value).Distinct().Order().ShouldBe([0, 1]);
        // Same key, same partition, produce order preserved.
        var k3 = received.Where(r => r.Message.Key == "k3").Select(r => int.Parse(r.Message.Value[1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        k3.ShouldBe(Enumerable.Range(0, 100).Select(i => i * 10 + 3).ToList());
    }

    [Fact]
    public async Task Unknown_topics_are_auto_created_with_four_partitions()
    {
        var topic = Unique("auto");
        using var producer = Producer();
        var delivered = await producer.ProduceAsync(topic, new Message<string, string> { Key = "a", Value = "b" }, TestContext.Current.CancellationToken);
        delivered.Status.ShouldBe(PersistenceStatus.Persisted);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _kafka.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
        metadata.Topics.Single().Partitions.Count.ShouldBe(EmbeddedKafka.AutoCreatedPartitions);
    }

    [Fact]
    public void A_second_consumer_in_the_group_resumes_after_the_committed_offset()
    {
        var topic = Unique("resume");
        var group = Unique("g");
        _kafka.CreateTopic(topic, 1);
        using (var producer = Producer())
        {
            for (var i = 0; i < 100; i++) producer.Produce(topic, new Message<string, string> { Key = "k", Value = $"{i}" });
            producer.Flush(TimeSpan.FromSeconds(10)).ShouldBe(0);
        }

        using (var first = Consumer(group))
        {
            first.Subscribe(topic);
            var got = ConsumeUpTo(first, 40, TimeSpan.FromSeconds(15));
            got.Count.ShouldBe(40);
            first.Commit([new TopicPartitionOffset(got[^1].TopicPartition, got[^1].Offset + 1)]);
            first.Close();
        }

        using var second = Consumer(group);
        second.Subscribe(topic);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var rest = ConsumeUpTo(second, 60, TimeSpan.FromSeconds(40));
        TestContext.Current.SendDiagnosticMessage($"second consumer took {sw.Elapsed}");
        second.Close();
        rest.Count.ShouldBe(60);
        rest[0].Offset.Value.ShouldBe(40);
        rest[0].Message.Value.ShouldBe("40");
        rest[^1].Message.Value.ShouldBe("99");
    }

    [Fact]
    public async Task Broker_down_stalls_clients_and_broker_up_resumes_them_without_loss()
    {
        var topic = Unique("outage");
        _kafka.CreateTopic(topic, 1);
        using var producer = Producer();
        using var consumer = Consumer(Unique("g"));
        consumer.Subscribe(topic);

        for (var i = 0; i < 50; i++) producer.Produce(topic, new Message<string, string> { Key = "k", Value = $"{i}" });
        producer.Flush(TimeSpan.FromSeconds(10)).ShouldBe(0);
        var before = ConsumeUpTo(consumer, 50, TimeSpan.FromSeconds(15));
        before.Count.ShouldBe(50);

        _kafka.SetBrokerDown(1);
        var pending = Enumerable.Range(50, 50)
            .Select(i => producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = $"{i}" }))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        pending.Count(t => t.IsCompletedSuccessfully).ShouldBe(0); // stalled, not lost
        ConsumeUpTo(consumer, 1, TimeSpan.FromSeconds(1)).ShouldBeEmpty();

        _kafka.SetBrokerUp(1);
        await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var after = ConsumeUpTo(consumer, 50, TimeSpan.FromSeconds(30));
        consumer.Close();
        after.Select(r => r.Message.Value).ShouldBe(Enumerable.Range(50, 50).Select(i => $"{i}").ToList());
    }

    [Fact]
    public void Dispose_twice_is_harmless_and_calls_after_dispose_throw()
    {
        var kafka = EmbeddedKafka.Start(preferredPort: 0, brokers: 3);
        kafka.DirectBootstrapServers.Split(',').Length.ShouldBe(3);
        kafka.Dispose();
        kafka.Dispose();
        Should.Throw<ObjectDisposedException>(() => kafka.CreateTopic("x", 1));
    }

    [Fact]
    public void A_taken_preferred_port_falls_back_to_a_free_one()
    {
        using var second = EmbeddedKafka.Start(preferredPort: _kafka.Port);
        second.Port.ShouldNotBe(_kafka.Port);
        second.Port.ShouldBeGreaterThan(0);
        Encoding.ASCII.GetByteCount(second.BootstrapServers).ShouldBeGreaterThan(0);
    }
}
