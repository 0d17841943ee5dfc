using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ComputeNet.Actors.Persistence;

/// <summary>
/// A live eventsByTag query delivered to an actor one event at a time: the actor answers <see cref="Init"/> and each
/// <see cref="EventEnvelope"/> with <see cref="Ack"/> to get the next, and receives <see cref="Done"/> when the
/// query ends (a live query ends only on failure). Shared by the in-memory projections and the durable followers.
/// </summary>
public static class TagStream
{
    public sealed record Init;

    public sealed record Ack;

    public sealed record Done(Exception? Cause);

    /// <summary>The timer message an actor schedules to start the query again after <see cref="Done"/>.</summary>
    public sealed record Resume;

    public static void Run(IEventsByTagQuery readJournal, string tag, Offset from, IActorRef receiver, IMaterializer materializer) =>
        readJournal.EventsByTag(tag, from)
            .RunWith(Sink.ActorRefWithAck<EventEnvelope>(receiver, new Init(), new Ack(), new Done(null), e => new Done(e)), materializer);
}
