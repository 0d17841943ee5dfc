using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// Produces single records outside a stream (e.g. agent commands from an actor via PipeTo).
/// One instance per process is enough: the Confluent producer is thread-safe and batches internally.
/// </summary>
public sealed class KafkaPublisher : IDisposable
{
    private readonly IProducer<string?, byte[]> _producer;
    private readonly TimeSpan _flushTimeout;
    private int _disposed;

    public KafkaPublisher(ProducerSettings settings)
    {
        _producer = settings.Build();
        _flushTimeout = settings.FlushTimeout;
    }

    /// <summary>Completes when the broker has acknowledged the record (acks=all); fails with a ProduceException otherwise.</summary>
    public Task<DeliveryResult<string?, byte[]>> PublishAsync(string topic, string? key, byte[] value, Headers? headers = null,
        CancellationToken cancellationToken = default) =>
        _producer.ProduceAsync(topic, new Message<string?, byte[]> { Key = key, Value = value, Headers = headers }, cancellationToken);

    /// <summary>Waits up to the flush timeout for outstanding deliveries, then releases the client.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _producer.Flush(_flushTimeout);
        _producer.Dispose();
    }
}
