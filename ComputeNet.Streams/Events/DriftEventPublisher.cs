using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
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
public sealed class DriftEventPublisher : PersistentTagFollower
{
    public const string Id = "drift-event-publisher";

    public const string AdjustmentId = "adjustment-event-publisher";

    private sealed record Published(EventEnvelope Envelope, IActorRef Stream);
    private sealed record PublishFailed(EventEnvelope Envelope, IActorRef Stream, Exception Cause);
    private sealed record RetryPublish(EventEnvelope Envelope, IActorRef Stream);

    private readonly KafkaPublisher _publisher;
    private readonly string _topic;
    private readonly string _tag;

    public DriftEventPublisher(IEventsByTagQuery readJournal, KafkaPublisher publisher, string topic, string tag, string persistenceId)
        : base(readJournal, tag)
    {
        _publisher = publisher;
        _topic = topic;
        _tag = tag;
        PersistenceId = persistenceId;

        Command<Published>(published =>
        {
            if (published.Envelope.Offset is Sequence sequence) SaveCheckpoint(sequence.Value);
            Acknowledge(published.Stream);
        });
        Command<PublishFailed>(failed =>
        {
            // Kafka away: keep the stream waiting (no ack) and try the same event again.
            Log.Warning(failed.Cause, "Publishing a {0} event on {1} failed; retrying", _tag, _topic);
            Timers.StartSingleTimer("retry", new RetryPublish(failed.Envelope, failed.Stream), TimeSpan.FromSeconds(1));
        });
        Command<RetryPublish>(retry => OnEvent(retry.Envelope, retry.Stream));
    }

    public override string PersistenceId { get; }

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

    protected override void OnEvent(EventEnvelope envelope, IActorRef stream) =>
        _publisher.PublishAsync(_topic, DriftEventLog.EntityOf(envelope.Event), ToRecord(envelope))
            .PipeTo(Self, success: _ => new Published(envelope, stream), failure: e => new PublishFailed(envelope, stream, e));
}
