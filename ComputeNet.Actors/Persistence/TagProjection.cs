using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Streams;

namespace ComputeNet.Actors.Persistence;

/// <summary>
/// A read model fed by one journal tag through a live eventsByTag query, with back-pressure
/// (each event is acknowledged after it is applied). Rebuilt from the journal on start; resumes from
/// the last offset if the query fails. Derived actors add their queries and <see cref="Apply"/>.
/// </summary>
public abstract class TagProjection : ReceiveActor, IWithTimers
{
    private readonly IEventsByTagQuery _readJournal;
    private readonly string _tag;
    private Offset _offset = Offset.NoOffset();

    protected TagProjection(IEventsByTagQuery readJournal, string tag)
    {
        _readJournal = readJournal;
        _tag = tag;

        Receive<TagStream.Init>(_ => Sender.Tell(new TagStream.Ack()));
        Receive<EventEnvelope>(envelope =>
        {
            Apply(envelope.Event);
            _offset = envelope.Offset;
            EventsSeen++;
            Sender.Tell(new TagStream.Ack());
        });
        Receive<TagStream.Done>(done =>
        {
            // A live query ends only on failure: resume from the last offset after a pause.
            Log.Warning(done.Cause, "Projection of tag {0} stopped; resuming from offset {1}", _tag, _offset);
            Timers.StartSingleTimer("resume", new TagStream.Resume(), TimeSpan.FromSeconds(1));
        });
        Receive<TagStream.Resume>(_ => Run());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected ILoggingAdapter Log { get; } = Context.GetLogger();

    protected long EventsSeen { get; private set; }

    protected abstract void Apply(object @event);

    protected override void PreStart() => Run();

    private void Run() => TagStream.Run(_readJournal, _tag, _offset, Self, Context.Materializer());
}

/// <summary>How far a durable projection got: the journal offset (ordering) of the last event it handled.</summary>
public sealed record ProjectionCheckpoint(long Offset) : IComputeNetSnapshot;
