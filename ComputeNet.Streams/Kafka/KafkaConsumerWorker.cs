using System.Collections.Concurrent;
using Akka.Event;
using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// Owns one <see cref="IConsumer{TKey,TValue}"/> and the thread that polls it. Every call on the consumer
/// (poll, pause/resume, commit, close) happens on that thread, so the blocking Consume never touches an
/// Akka dispatcher and no Confluent thread-safety question arises. It outlives its source stage when the
/// stage was stopped through <see cref="IKafkaControl.Stop"/>, so in-flight elements can still be committed.
/// </summary>
internal sealed class KafkaConsumerWorker : IKafkaControl
{
    /// <summary>What the worker tells its source stage; invoked from the poll thread through async callbacks.</summary>
    internal sealed record StageCallbacks(
        Action<ConsumeResult<byte[]?, byte[]?>> OnMessage,
        Action<IReadOnlyList<TopicPartition>> OnRevoked,
        Action<Exception> OnFailure,
        Action OnStopRequested);

    private sealed record CommitRequest(IReadOnlyList<TopicPartitionOffset> Offsets, TaskCompletionSource Done);

    private readonly ConsumerSettings _settings;
    private readonly string[] _topics;
    private readonly ConcurrentQueue<CommitRequest> _commits = new();
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<TopicPartition> _assignment = [];
    private volatile StageCallbacks? _stage;
    private volatile bool _fetching = true;
    private volatile bool _shutdownRequested;
    private volatile IReadOnlyCollection<TopicPartition> _assignmentSnapshot = [];
    private ILoggingAdapter? _log;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private bool _paused;
    private bool _assignmentChanged;
    private int _buffered;
    private int _maxBuffered;

    internal KafkaConsumerWorker(ConsumerSettings settings, string[] topics)
    {
        _settings = settings;
        _topics = topics;
    }

    public int Buffered => Volatile.Read(ref _buffered);
    public int MaxBuffered => Volatile.Read(ref _maxBuffered);
    public IReadOnlyCollection<TopicPartition> Assignment => _assignmentSnapshot;
    public IReadOnlyDictionary<TopicPartition, long> Lag => _lag;

    private volatile IReadOnlyDictionary<TopicPartition, long> _lag = new Dictionary<TopicPartition, long>();
    private long _lagMeasuredAtMs;
    public Task IsShutdown => _shutdown.Task;

    /// <summary>Builds and subscribes the consumer and starts polling; called from the stage's PreStart.</summary>
    internal void Start(StageCallbacks stage, ILoggingAdapter log)
    {
        _stage = stage;
        _log = log;
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(_settings.ToConfig())
            .SetErrorHandler((_, error) => OnClientError(error))
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition).ToList()))
            .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition).ToList()))
            .Build();
        _consumer.Subscribe(_topics);
        var thread = new Thread(PollLoop) { IsBackground = true, Name = $"kafka-consumer-{_settings.GroupId}" };
        thread.Start();
    }

    /// <summary>One element left the stage's buffer.</summary>
    internal void Emitted() => Interlocked.Decrement(ref _buffered);

    /// <summary>Buffered elements were dropped (revoked partitions, or the stage stopped).</summary>
    internal void Dropped(int count) => Interlocked.Add(ref _buffered, -count);

    /// <summary>The stage has stopped; if it stopped for any reason other than <see cref="Stop"/>, the consumer goes too.</summary>
    internal void StageStopped()
    {
        _fetching = false;
        _stage = null;
        _stopped.TrySetResult();
        if (!_stopRequested) _shutdownRequested = true;
    }

    private volatile bool _stopRequested;

    public Task Stop()
    {
        _stopRequested = true;
        _fetching = false;
        var stage = _stage;
        if (stage is null) _stopped.TrySetResult();
        else stage.OnStopRequested();
        return _stopped.Task;
    }

    public async Task Shutdown()
    {
        await Stop().ConfigureAwait(false);
        _shutdownRequested = true;
        if (_consumer is null) _shutdown.TrySetResult(); // never started: nothing to close
        await _shutdown.Task.ConfigureAwait(false);
    }

    public async Task<T> DrainAndShutdown<T>(Task<T> streamCompletion)
    {
        await Stop().ConfigureAwait(false);
        try
        {
            return await streamCompletion.ConfigureAwait(false);
        }
        finally
        {
            await Shutdown().ConfigureAwait(false);
        }
    }

    /// <summary>Commits the given next-offsets (already offset + 1) on the poll thread.</summary>
    internal Task Commit(IReadOnlyList<TopicPartitionOffset> offsets)
    {
        if (_shutdown.Task.IsCompleted)
        {
            _log?.Warning("Kafka consumer of group {0} is shut down; skipping commit of {1}", _settings.GroupId, string.Join(", ", offsets));
            return Task.CompletedTask;
        }
        var request = new CommitRequest(offsets, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _commits.Enqueue(request);
        // Closed between the check and the enqueue: the loop's final drain may have missed it.
        if (_shutdown.Task.IsCompleted) request.Done.TrySetResult();
        return request.Done.Task;
    }

    private void PollLoop()
    {
        var consumer = _consumer!;
        Exception? failure = null;
        try
        {
            while (!_shutdownRequested)
            {
                ServeCommits(consumer);
                ApplyBackPressure(consumer);
                MeasureLag(consumer);
                var result = Consume(consumer);
                if (result is null || result.IsPartitionEOF) continue;
                if (!_fetching || Volatile.Read(ref _buffered) >= _settings.BufferSize)
                {
                    // Only after a rebalance can a message slip past the pause; put it back for later.
                    consumer.Seek(result.TopicPartitionOffset);
                    _paused = false;
                    continue;
                }
                var buffered = Interlocked.Increment(ref _buffered);
                if (buffered > _maxBuffered) Volatile.Write(ref _maxBuffered, buffered);
                _stage?.OnMessage(result);
            }
        }
        catch (Exception e)
        {
            // Not swallowed: the stage fails with it (and a surrounding RestartSource starts a new consumer).
            failure = e;
        }
        if (failure is not null) _stage?.OnFailure(failure);
        Close(consumer);
    }

    private ConsumeResult<byte[]?, byte[]?>? Consume(IConsumer<byte[]?, byte[]?> consumer)
    {
        try
        {
            return consumer.Consume(_settings.PollTimeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            // e.g. an unknown topic or a broker that is briefly away: librdkafka keeps retrying by itself.
            _log?.Warning("Kafka consumer of group {0}: {1}", _settings.GroupId, e.Error.Reason);
            return null;
        }
    }

    private void ApplyBackPressure(IConsumer<byte[]?, byte[]?> consumer)
    {
        var buffered = Volatile.Read(ref _buffered);
        // Hysteresis: pause when full, resume at half, so a slow consumer does not flap pause/resume per message.
        var shouldPause = !_fetching || buffered >= _settings.BufferSize || (_paused && buffered > _settings.BufferSize / 2);
        if (shouldPause && (!_paused || _assignmentChanged))
        {
            consumer.Pause(_assignment);
            _paused = true;
        }
        else if (!shouldPause && _paused)
        {
            consumer.Resume(_assignment);
            _paused = false;
        }
        _assignmentChanged = false;
    }

    /// <summary>Records between the fetch position and the partition's end, per owned partition, about once a second.</summary>
    private void MeasureLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        var now = Environment.TickCount64;
        if (now - _lagMeasuredAtMs < 1000) return;
        _lagMeasuredAtMs = now;
        var lag = new Dictionary<TopicPartition, long>();
        foreach (var partition in _assignment)
        {
            // Both come from the client's cache (no broker round trip); invalid until the first fetch.
            var end = consumer.GetWatermarkOffsets(partition).High;
            var position = consumer.Position(partition);
            if (end.IsSpecial || position.IsSpecial) continue;
            lag[partition] = Math.Max(0, end.Value - position.Value);
        }
        _lag = lag;
    }

    private void ServeCommits(IConsumer<byte[]?, byte[]?> consumer)
    {
        while (_commits.TryDequeue(out var request))
        {
            // A revoked partition belongs to another member now; committing it could move its offset backwards.
            var owned = request.Offsets.Where(o => _assignment.Contains(o.TopicPartition)).ToList();
            if (owned.Count < request.Offsets.Count)
                _log?.Debug("Skipping commit of partitions no longer assigned: {0}",
                    string.Join(", ", request.Offsets.Where(o => !_assignment.Contains(o.TopicPartition))));
            if (owned.Count == 0)
            {
                request.Done.TrySetResult();
                continue;
            }
            try
            {
                consumer.Commit(owned);
                request.Done.TrySetResult();
            }
            catch (KafkaException e) when (!e.Error.IsFatal)
            {
                // The committer decides (its stream fails, a restart retries); the consumer itself is fine.
                request.Done.TrySetException(e);
            }
        }
    }

    private void OnAssigned(List<TopicPartition> partitions)
    {
        _assignment.UnionWith(partitions);
        _assignmentSnapshot = _assignment.ToArray();
        _assignmentChanged = true;
        _log?.Info("Kafka group {0} assigned {1}", _settings.GroupId, string.Join(", ", partitions));
    }

    private void OnRevoked(List<TopicPartition> partitions)
    {
        _assignment.ExceptWith(partitions);
        _assignmentSnapshot = _assignment.ToArray();
        _assignmentChanged = true;
        _log?.Info("Kafka group {0} revoked {1}", _settings.GroupId, string.Join(", ", partitions));
        _stage?.OnRevoked(partitions);
    }

    private void OnClientError(Confluent.Kafka.Error error)
    {
        if (error.IsFatal) _stage?.OnFailure(new KafkaException(error));
        else _log?.Warning("Kafka consumer of group {0}: {1} ({2})", _settings.GroupId, error.Reason, error.Code);
    }

    private void Close(IConsumer<byte[]?, byte[]?> consumer)
    {
        _fetching = false;
        try
        {
            consumer.Close(); // leave the group now rather than after the session timeout
        }
        catch (KafkaException e)
        {
            _log?.Warning("Closing the Kafka consumer of group {0} failed: {1}", _settings.GroupId, e.Message);
        }
        finally
        {
            consumer.Dispose();
            _assignment.Clear();
            _assignmentSnapshot = [];
            _shutdown.TrySetResult();
            // Commits that arrived after the last drain: their partitions are gone with the consumer.
            while (_commits.TryDequeue(out var late)) late.Done.TrySetResult();
        }
    }
}
