using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;

namespace ComputeNet.Actors.Persistence;

/// <summary>
/// A persistent actor that acts on one journal tag, durably: a live eventsByTag stream hands it one event at a time
/// (the next comes after <see cref="Acknowledge"/>), it starts from the offset it last saved with
/// <see cref="SaveCheckpoint"/> (a snapshot; older ones are deleted), and a failed stream resumes after a pause from
/// <see cref="ResumeOffset"/>. Derived actors decide what an event does and when its offset is safe to save.
/// One checkpoint is written at a time (a newer offset asked for meanwhile is written next): every checkpoint of an
/// actor replaces the same snapshot row, and two writes in flight at once could commit out of order, leaving an older
/// offset and replaying events on the next start. <see cref="StopAfterCheckpoint"/> stops it once its newest offset
/// is written, so a graceful shutdown does not replay (and re-act on) events whose effect already happened.
/// </summary>
public abstract class PersistentTagFollower : ReceivePersistentActor, IWithTimers
{
    private readonly IEventsByTagQuery _readJournal;
    private readonly string _tag;
    private long? _writing; // the offset being written, if any
    private bool _stopping;

    /// <summary>Stop once the newest checkpoint asked for is saved (the stop message for a graceful shutdown or handover).</summary>
    public sealed class StopAfterCheckpoint
    {
        public static readonly StopAfterCheckpoint Instance = new();
        private StopAfterCheckpoint() { }
    }

    protected PersistentTagFollower(IEventsByTagQuery readJournal, string tag)
    {
        _readJournal = readJournal;
        _tag = tag;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ProjectionCheckpoint checkpoint) Checkpoint = checkpoint.Offset;
        });
        Command<TagStream.Init>(_ => Sender.Tell(new TagStream.Ack()));
        Command<EventEnvelope>(envelope => OnEvent(envelope, Sender));
        Command<TagStream.Done>(done =>
        {
            Log.Warning(done.Cause, "The {0} stream of {1} stopped; resuming from offset {2}", _tag, PersistenceId, ResumeOffset);
            Timers.StartSingleTimer(nameof(TagStream.Resume), new TagStream.Resume(), TimeSpan.FromSeconds(1));
        });
        Command<TagStream.Resume>(_ => Follow(ResumeOffset));
        Command<StopAfterCheckpoint>(_ =>
        {
            _stopping = true;
            StopIfSaved();
        });
        Command<SaveSnapshotSuccess>(success =>
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1, success.Metadata.Timestamp.AddTicks(-1)));
            CheckpointSaved();
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            Log.Warning(failure.Cause, "Saving the {0} offset of {1} failed", _tag, PersistenceId);
            CheckpointSaved();
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected IMaterializer Materializer { get; } = Context.Materializer();

    /// <summary>The journal offset of the last event whose effect is saved (0 = none).</summary>
    protected long Checkpoint { get; private set; }

    /// <summary>Where a failed stream picks up again; by default the checkpoint.</summary>
    protected virtual long ResumeOffset => Checkpoint;

    /// <summary>One event of the tag; call <see cref="Acknowledge"/> with <paramref name="stream"/> to receive the next.</summary>
    protected abstract void OnEvent(EventEnvelope envelope, IActorRef stream);

    protected static void Acknowledge(IActorRef stream) => stream.Tell(new TagStream.Ack());

    /// <summary>Saves <paramref name="offset"/> as the point a restart resumes from (never moves backwards).</summary>
    protected void SaveCheckpoint(long offset)
    {
        if (offset <= Checkpoint) return;
        Checkpoint = offset;
        if (_writing is null) WriteCheckpoint();
    }

    private void WriteCheckpoint()
    {
        _writing = Checkpoint;
        SaveSnapshot(new ProjectionCheckpoint(Checkpoint));
    }

    // A newer offset asked for while this one was written is written next.
    private void CheckpointSaved()
    {
        var written = _writing;
        _writing = null;
        if (Checkpoint > written) WriteCheckpoint();
        else StopIfSaved();
    }

    private void StopIfSaved()
    {
        if (_stopping && _writing is null) Context.Stop(Self);
    }

    protected override void OnReplaySuccess() => Follow(Checkpoint);

    private void Follow(long offset) =>
        TagStream.Run(_readJournal, _tag, offset == 0 ? Offset.NoOffset() : Offset.Sequence(offset), Self, Materializer);
}
