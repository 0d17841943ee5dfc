using Confluent.Kafka;

namespace ComputeNet.Tests.TestSupport;

/// <summary>Reads a topic from the beginning to its current end with a fresh consumer group.</summary>
public static class TopicReader
{
    public static List<byte[]> ReadAll(string bootstrapServers, string topic, int timeoutSeconds = 30)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers, GroupId = $"reader-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
        }).Build();
        consumer.Subscribe(topic);
        var values = new List<byte[]>();
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        var eofPartitions = new HashSet<int>();
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null) continue;
            if (result.IsPartitionEOF)
            {
                eofPartitions.Add(result.Partition.Value);
                if (eofPartitions.Count == consumer.Assignment.Count && consumer.Assignment.Count > 0) break;
                continue;
            }
            values.Add(result.Message.Value);
        }
        consumer.Close();
        return values;
    }
}
