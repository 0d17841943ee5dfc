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
        Action<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>> OnMessages,
        Action<IReadOnlyList<TopicPartition>> OnRevoked,
        Action<Exception> OnFailure,
        Action OnStopRequested);

    private sealed record CommitRequest(IReadOnlyList<TopicPartitionOffset> Offsets, TaskCompletionSource Done);

    // Commit errors meaning the group has moved on without us (a rebalance, an expired session).
    private static readonly HashSet<ErrorCode> OwnershipLost =
        [ErrorCode.IllegalGeneration, ErrorCode.UnknownMemberId, ErrorCode.RebalanceInProgress, ErrorCode.FencedInstanceId, ErrorCode.Local_State];

    // How long a full buffer may stall polling before the partitions are paused (see ReadyToPoll).
    private static readonly TimeSpan PauseAfter = TimeSpan.FromSeconds(1);

    // Messages already fetched are handed to the stage together: each hand-over is a message to the stage's actor,
    // which cost more than parsing the record when it was one per record.
    private const int MaxMessagesPerHandOver = 512;

    private readonly object _stageGate = new();
    private readonly ConsumerSettings _settings;
    private readonly string[] _topics;
    private readonly ConcurrentQueue<CommitRequest> _commits = new();
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<TopicPartition> _assignment = [];
    private volatile StageCallbacks? _stage;
    private volatile bool _fetching = true;
    private volatile bool _shutdownRequested;
    private volatile bool _stopRequested;
    private volatile IReadOnlyCollection<TopicPartition> _assignmentSnapshot = [];
    private ILoggingAdapter? _log;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    // No spinning: the poll thread waits for the stage to drain, and on a crowded machine a spinning waiter takes the CPU
    // the stage needs to do so.
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private bool _draining;
    private DateTime? _fullSince;
    private bool _paused;
    private bool _assignmentChanged;
    private long _closeAtTicks = long.MaxValue;
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
        _log = log;
        lock (_stageGate)
        {
            _stage = stage;
            // Stop() raced ahead of the stage's start: complete right away, keeping the consumer for nothing.
            if (_stopRequested) stage.OnStopRequested();
        }
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
    internal void Emitted()
    {
        if (Interlocked.Decrement(ref _buffered) <= RefillAt) _wake.Set();
    }

    /// <summary>A full buffer is refilled once it has drained to this (see <see cref="ReadyToPoll"/>).</summary>
    private int RefillAt => _settings.BufferSize / 2;

    /// <summary>Buffered elements were dropped (revoked partitions, or the stage stopped).</summary>
    internal void Dropped(int count)
    {
        Interlocked.Add(ref _buffered, -count);
        _wake.Set();
    }

    /// <summary>The stage has stopped; if it stopped for any reason other than <see cref="Stop"/>, the consumer goes too.</summary>
    /// <summary>Downstream cancelled: stop fetching and close the consumer once <paramref name="delay"/> has passed.</summary>
    internal void CloseAfter(TimeSpan delay)
    {
        _fetching = false;
        Interlocked.Exchange(ref _closeAtTicks, (DateTime.UtcNow + delay).Ticks);
        _wake.Set();
    }

    internal void StageStopped()
    {
        _fetching = false;
        lock (_stageGate) _stage = null;
        _stopped.TrySetResult();
        // Stopped through the control: commits go on until Shutdown. Cancelled: CloseAfter has set the time.
        if (!_stopRequested && Interlocked.Read(ref _closeAtTicks) == long.MaxValue) _shutdownRequested = true;
        _wake.Set();
        if (_consumer is null) _shutdown.TrySetResult(); // failed before it started: no thread to close anything
    }

    public Task Stop()
    {
        lock (_stageGate)
        {
            _stopRequested = true;
            _fetching = false;
            _stage?.OnStopRequested();
        }
        return _stopped.Task;
    }

    public async Task Shutdown()
    {
        await Stop().ConfigureAwait(false);
        _shutdownRequested = true;
        _wake.Set();
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
        _wake.Set();
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
            while (!_shutdownRequested && DateTime.UtcNow.Ticks < Interlocked.Read(ref _closeAtTicks))
            {
                ServeCommits(consumer);
                MeasureLag(consumer);
                if (!ReadyToPoll(consumer)) continue;
                var result = Consume(consumer, _settings.PollTimeout);
                if (result is null || result.IsPartitionEOF) continue;
                var batch = new List<ConsumeResult<byte[]?, byte[]?>>();
                while (result is not null)
                {
                    if (!result.IsPartitionEOF)
                    {
                        if (!_fetching || Volatile.Read(ref _buffered) >= _settings.BufferSize)
                        {
                            // Only after a rebalance can a message slip past the pause; put it back for later.
                            consumer.Seek(result.TopicPartitionOffset);
                            consumer.Pause([result.TopicPartition]);
                            break;
                        }
                        var buffered = Interlocked.Increment(ref _buffered);
                        if (buffered > _maxBuffered) Volatile.Write(ref _maxBuffered, buffered);
                        batch.Add(result);
                    }
                    // Take what the client has already fetched, without waiting, while the buffer has room.
                    result = batch.Count < MaxMessagesPerHandOver && _fetching && Volatile.Read(ref _buffered) < _settings.BufferSize
                        ? Consume(consumer, TimeSpan.Zero)
                        : null;
                }
                if (batch.Count > 0) _stage?.OnMessages(batch);
            }
        }
        catch (Exception e)
        {
            // Not swallowed: the stage fails with it (and a surrounding RestartSource starts a new consumer).
            failure = e;
        }
        if (failure is not null)
        {
            _log?.Error(failure, "Kafka consumer of group {0} failed", _settings.GroupId);
            _stage?.OnFailure(failure);
        }
        Close(consumer);
    }

    private ConsumeResult<byte[]?, byte[]?>? Consume(IConsumer<byte[]?, byte[]?> consumer, TimeSpan timeout)
    {
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            // e.g. an unknown topic or a broker that is briefly away: librdkafka keeps retrying by itself.
            _log?.Warning("Kafka consumer of group {0}: {1}", _settings.GroupId, e.Error.Reason);
            return null;
        }
    }

    /// <summary>
    /// Returns whether to poll now. A full buffer (or a stopped source) means: do not poll, wait for the stage
    /// to emit. Pausing the partitions is the fallback for long stalls only: it keeps group membership and
    /// rebalance callbacks served, but librdkafka drops its prefetched messages on pause and refetches on
    /// resume, far too costly for the ordinary ebb and flow of demand.
    /// </summary>
    private bool ReadyToPoll(IConsumer<byte[]?, byte[]?> consumer)
    {
        var buffered = Volatile.Read(ref _buffered);
        // Once full, the buffer drains to half before polling resumes: polling again after every emitted message
        // would hand the stage its messages one at a time, and wake this thread as often.
        if (buffered >= _settings.BufferSize) _draining = true;
        else if (buffered <= RefillAt) _draining = false;
        var full = !_fetching || _draining;
        if (full)
        {
            _fullSince ??= DateTime.UtcNow;
            if (!_paused && DateTime.UtcNow - _fullSince >= PauseAfter)
            {
                consumer.Pause(_assignment);
                _paused = true;
                _assignmentChanged = false;
            }
            if (!_paused)
            {
                _wake.Wait(_settings.PollTimeout);
                _wake.Reset();
                return false;
            }
        }
        else
        {
            _fullSince = null;
            if (_paused && buffered <= RefillAt)
            {
                consumer.Resume(_assignment);
                _paused = false;
            }
        }
        if (_paused && _assignmentChanged) consumer.Pause(_assignment); // newly assigned partitions start unpaused
        _assignmentChanged = false;
        return true;
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
            catch (KafkaException e) when (OwnershipLost.Contains(e.Error.Code))
            {
                // The group moved on (e.g. our session expired during an outage): like a revoked partition,
                // the new owner starts from the last successful commit, so these records come again.
                _log?.Warning("Kafka group {0} rebalanced before commit of {1}: {2}", _settings.GroupId, string.Join(", ", owned), e.Error.Reason);
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
