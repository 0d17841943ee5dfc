using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// Where Kafka is and how to reach it. <see cref="ExtraConfig"/> goes verbatim into every Confluent client
/// config (e.g. "security.protocol", "sasl.mechanism", "ssl.ca.location"), so SASL/TLS need no code change.
/// </summary>
public sealed record KafkaConnection(string BootstrapServers)
{
    public IReadOnlyDictionary<string, string> ExtraConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>An admin client on this connection (metadata, topics), with the same pass-through settings.</summary>
    public IAdminClient BuildAdminClient() => new AdminClientBuilder(Apply(new AdminClientConfig())).Build();

    internal T Apply<T>(T config) where T : ClientConfig
    {
        config.BootstrapServers = BootstrapServers;
        foreach (var (key, value) in ExtraConfig) config.Set(key, value);
        return config;
    }
}

/// <summary>Settings of <see cref="KafkaSource.Committable"/>.</summary>
public sealed record ConsumerSettings(KafkaConnection Connection, string GroupId)
{
    /// <summary>Messages the source holds ahead of downstream demand; fetching pauses when it is full.</summary>
    public int BufferSize { get; init; } = 64;

    /// <summary>How long one blocking poll waits; bounds how late commits and stop requests are served.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromMilliseconds(50);

    public AutoOffsetReset AutoOffsetReset { get; init; } = AutoOffsetReset.Earliest;

    /// <summary>
    /// When downstream cancels normally (e.g. <c>Take(n)</c>), how long the consumer still serves commits before
    /// it closes, so a committer behind the cancelling stage gets its final commit through.
    /// </summary>
    public TimeSpan CloseDelayAfterCancel { get; init; } = TimeSpan.FromMilliseconds(500);

    public string? ClientId { get; init; }

    /// <summary>Further consumer properties, applied after (and overriding) <see cref="KafkaConnection.ExtraConfig"/>.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    internal ConsumerConfig ToConfig()
    {
        var config = Connection.Apply(new ConsumerConfig());
        config.GroupId = GroupId;
        config.AutoOffsetReset = AutoOffsetReset;
        if (ClientId is not null) config.ClientId = ClientId;
        foreach (var (key, value) in Properties) config.Set(key, value);
        // Offsets are committed by KafkaCommitter after processing, never by the client on its own.
        config.EnableAutoCommit = false;
        config.EnableAutoOffsetStore = false;
        // Only key, value, topic and position are read: no headers and timestamp objects per record.
        config.ConsumeResultFields = "topic";
        return config;
    }
}

/// <summary>Settings of <see cref="KafkaCommitter"/>: a batch is committed at whichever limit comes first.</summary>
public sealed record CommitterSettings
{
    public int MaxBatch { get; init; } = 1000;
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(1);
    public static CommitterSettings Default { get; } = new();
}

/// <summary>Settings of <see cref="KafkaSink"/> and <see cref="KafkaPublisher"/>.</summary>
public sealed record ProducerSettings(KafkaConnection Connection)
{
    /// <summary>Records handed to the client whose delivery report is still outstanding (the sink's back-pressure).</summary>
    public int MaxInFlight { get; init; } = 1000;

    public TimeSpan LingerTime { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>How long the sink and the publisher wait for outstanding deliveries when they stop.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public string? ClientId { get; init; }

    /// <summary>Further producer properties, applied after (and overriding) <see cref="KafkaConnection.ExtraConfig"/>.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    internal ProducerConfig ToConfig()
    {
        var config = Connection.Apply(new ProducerConfig
        {
            // Durable and without duplicates on retry; librdkafka's mock cluster supports idempotence too.
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = LingerTime.TotalMilliseconds,
        });
        if (ClientId is not null) config.ClientId = ClientId;
        foreach (var (key, value) in Properties) config.Set(key, value);
        return config;
    }

    internal IProducer<string?, byte[]> Build() =>
        new ProducerBuilder<string?, byte[]>(ToConfig()).Build();
}
