using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>Kafka sources with Akka.Streams.Kafka semantics, on Confluent.Kafka.</summary>
/// <example>
/// At-least-once processing, committing after the effect, restarted with back-off on broker failures:
/// <code>
/// IKafkaControl? control = null;
/// var done = RestartSource.OnFailuresWithBackoff(
///         () => KafkaSource.Committable(settings, "node-telemetry").MapMaterializedValue(c => control = c),
///         RestartSettings.Create(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2))
///     .SelectAsync(4, async m => { await Handle(m); return m.CommittableOffset; }) // SelectAsync keeps order
///     .ViaMaterialized(KillSwitches.Single&lt;CommittableOffset&gt;(), Keep.Right)
///     .ToMaterialized(KafkaCommitter.Sink(CommitterSettings.Default), Keep.Both)
///     .Run(materializer);
/// // orderly end: done.Item1.Shutdown(); await done.Item2; await control!.Shutdown();
/// // without a restart wrapper: await control.DrainAndShutdown(streamCompletion);
/// </code>
/// </example>
public static class KafkaSource
{
    /// <summary>
    /// Consumes <paramref name="topics"/> as group <see cref="ConsumerSettings.GroupId"/>. Messages arrive in
    /// offset order per partition; fetching pauses while <see cref="ConsumerSettings.BufferSize"/> messages wait
    /// for demand. Fatal client errors fail the source; others are logged while librdkafka retries.
    /// </summary>
    public static Source<CommittableMessage, IKafkaControl> Committable(ConsumerSettings settings, params string[] topics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topics.Length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BufferSize, 1);
        return Source.FromGraph(new CommittableSourceStage(settings, topics));
    }
}

internal sealed class CommittableSourceStage(ConsumerSettings settings, string[] topics)
    : GraphStageWithMaterializedValue<SourceShape<CommittableMessage>, IKafkaControl>
{
    private readonly Outlet<CommittableMessage> _out = new("KafkaSource.out");

    public override SourceShape<CommittableMessage> Shape => new(_out);

    protected override Attributes InitialAttributes => Attributes.CreateName("KafkaCommittableSource");

    public override ILogicAndMaterializedValue<IKafkaControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var worker = new KafkaConsumerWorker(settings, topics);
        return new LogicAndMaterializedValue<IKafkaControl>(new Logic(this, worker, settings), worker);
    }

    private sealed class Logic : GraphStageLogic
    {
        private readonly Outlet<CommittableMessage> _out;
        private readonly KafkaConsumerWorker _worker;
        private readonly Queue<CommittableMessage> _buffer = new();
        // The subscribed topics' names, one string each: the client hands every record a name of its own, which each
        // buffered or windowed record would otherwise keep.
        private readonly Dictionary<string, string> _topicNames = new(StringComparer.Ordinal);

        public Logic(CommittableSourceStage stage, KafkaConsumerWorker worker, ConsumerSettings settings) : base(stage.Shape)
        {
            _out = stage._out;
            _worker = worker;
            SetHandler(_out, onPull: TryPush, onDownstreamFinish: cause =>
            {
                // Downstream completed normally (e.g. Take(n)): the committer behind it may still send the final
                // commit, so the consumer lingers briefly. A failure cancels: nothing will be committed.
                _worker.CloseAfter(cause is SubscriptionWithCancelException.NonFailureCancellation
                    ? settings.CloseDelayAfterCancel
                    : TimeSpan.Zero);
                CompleteStage();
            });
        }

        public override void PreStart()
        {
            var callbacks = new KafkaConsumerWorker.StageCallbacks(
                OnMessages: GetAsyncCallback<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>>(OnMessages),
                OnRevoked: GetAsyncCallback<IReadOnlyList<TopicPartition>>(OnRevoked),
                OnFailure: GetAsyncCallback<Exception>(FailStage),
                OnStopRequested: GetAsyncCallback(OnStopRequested));
            _worker.Start(callbacks, Log);
        }

        private void OnMessages(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> results)
        {
            foreach (var result in results)
                _buffer.Enqueue(new CommittableMessage(result.Message.Key, result.Message.Value,
                    new CommittableOffset(_worker, TopicName(result.Topic), result.Partition.Value, result.Offset.Value)));
            TryPush();
        }

        private string TopicName(string topic)
        {
            if (_topicNames.TryGetValue(topic, out var known)) return known;
            _topicNames[topic] = topic;
            return topic;
        }

        private void TryPush()
        {
            if (_buffer.Count == 0 || !IsAvailable(_out)) return;
            Push(_out, _buffer.Dequeue());
            _worker.Emitted();
        }

        // Their new owner starts from the last commit; emitting these would only produce duplicates.
        private void OnRevoked(IReadOnlyList<TopicPartition> revoked)
        {
            var gone = revoked.ToHashSet();
            var kept = _buffer.Where(m => !gone.Contains(m.CommittableOffset.TopicPartition)).ToList();
            _worker.Dropped(_buffer.Count - kept.Count);
            _buffer.Clear();
            foreach (var message in kept) _buffer.Enqueue(message);
        }

        private void OnStopRequested()
        {
            _worker.Dropped(_buffer.Count);
            _buffer.Clear();
            CompleteStage();
        }

        public override void PostStop() => _worker.StageStopped();
    }
}
