using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Actors.Drift;
using ComputeNet.Actors.Persistence;
using ComputeNet.Streams.Kafka;

namespace ComputeNet.Streams.Events;

/// <summary>
/// Publishes every persisted drift event (node / link drifted, down, up) on the events topic, read from the
/// journal's "drift" tag so only persisted facts go out, in journal order. A second instance publishes the
/// "adjustment" tag (re-placements, migrations' ends, degradations) the same way, under its own id. Its progress is a snapshot, so a
/// restart resumes after the last event Kafka acknowledged (at-least-once: a crash between the ack and the
/// snapshot republishes one event). The record key is the entity (node id or "src|dst").
/// </summary>
public sealed class DriftEventPublisher : ReceivePersistentActor, IWithTimers
{
    public const string Id = "drift-event-publisher";

    public const string AdjustmentId = "adjustment-event-publisher";

    private sealed record StreamInit;
    private sealed record StreamAck;
    private sealed record StreamDone(Exception? Cause);
    private sealed record Resume;
    private sealed record Published(EventEnvelope Envelope, IActorRef Stream);
    private sealed record PublishFailed(EventEnvelope Envelope, IActorRef Stream, Exception Cause);
    private sealed record RetryPublish(EventEnvelope Envelope, IActorRef Stream);

    private readonly IEventsByTagQuery _readJournal;
    private readonly KafkaPublisher _publisher;
    private readonly string _topic;
    private readonly string _tag;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _offset;

    public DriftEventPublisher(IEventsByTagQuery readJournal, KafkaPublisher publisher, string topic, string tag, string persistenceId)
    {
        _readJournal = readJournal;
        _publisher = publisher;
        _topic = topic;
        _tag = tag;
        PersistenceId = persistenceId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ProjectionCheckpoint checkpoint) _offset = checkpoint.Offset;
        });

        Command<StreamInit>(_ => Sender.Tell(new StreamAck()));
        Command<EventEnvelope>(envelope => Publish(envelope, Sender));
        Command<Published>(published =>
        {
            if (published.Envelope.Offset is Sequence sequence)
            {
                _offset = sequence.Value;
                SaveSnapshot(new ProjectionCheckpoint(_offset));
            }
            published.Stream.Tell(new StreamAck());
        });
        Command<PublishFailed>(failed =>
        {
            // Kafka away: keep the stream waiting (no ack) and try the same event again.
            _log.Warning(failed.Cause, "Publishing a {0} event on {1} failed; retrying", _tag, _topic);
            Timers.StartSingleTimer("retry", new RetryPublish(failed.Envelope, failed.Stream), TimeSpan.FromSeconds(1));
        });
        Command<RetryPublish>(retry => Publish(retry.Envelope, retry.Stream));
        Command<StreamDone>(done =>
        {
            _log.Warning(done.Cause, "The {0} event stream stopped; resuming from offset {1}", _tag, _offset);
            Timers.StartSingleTimer("resume", new Resume(), TimeSpan.FromSeconds(1));
        });
        Command<Resume>(_ => Run());
        Command<SaveSnapshotSuccess>(success => DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1, success.Metadata.Timestamp.AddTicks(-1))));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Saving the {0} publisher's offset failed", _tag));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IEventsByTagQuery readJournal, KafkaPublisher publisher, string topic, string tag = EventTags.Drift, string persistenceId = Id) =>
        Akka.Actor.Props.Create(() => new DriftEventPublisher(readJournal, publisher, topic, tag, persistenceId));

    /// <summary>The record published for one event: its stable type, entity, journal position and the event itself.</summary>
    public static byte[] ToRecord(EventEnvelope envelope) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        type = ComputeNetSerializer.ManifestOf(envelope.Event),
        entity = DriftEventLog.EntityOf(envelope.Event),
        persistenceId = envelope.PersistenceId,
        sequenceNr = envelope.SequenceNr,
        @event = envelope.Event,
    }, ComputeNetSerializer.JsonOptions);

    protected override void OnReplaySuccess() => Run();

    private void Publish(EventEnvelope envelope, IActorRef stream) =>
        _publisher.PublishAsync(_topic, DriftEventLog.EntityOf(envelope.Event), ToRecord(envelope))
            .PipeTo(Self, success: _ => new Published(envelope, stream), failure: e => new PublishFailed(envelope, stream, e));

    private void Run() =>
        _readJournal.EventsByTag(_tag, _offset == 0 ? Offset.NoOffset() : Offset.Sequence(_offset))
            .RunWith(Sink.ActorRefWithAck<EventEnvelope>(Self, new StreamInit(), new StreamAck(), new StreamDone(null), e => new StreamDone(e)),
                Context.Materializer());
}
