using System.Collections.Concurrent;
using System.Data.Common;
using Akka;
using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using LinqToDB.Common;
using LinqToDB.Interceptors;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// A tag follower's saved offset is where the next start resumes, so it must end at the newest event handled: an
/// older one makes the next start act on the same events again (for the events publisher, a second publication).
/// Through the host's SQLite wiring, with writes held back to open the races.
/// </summary>
public sealed class TagFollowerCheckpointTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new("computenet-follower-checkpoint");
    private readonly SlowConnections _slow = new();
    private readonly SlowFirstSnapshotWrite _slowSnapshot = new();

    [Fact]
    public async Task A_follower_stopped_while_saving_its_offset_resumes_after_its_last_event()
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        var firstRun = new ConcurrentQueue<string>();
        await WithSystem(db, async system =>
        {
            var follower = system.ActorOf(Props.Create(() => new RecordingFollower(ReadJournal(system), firstRun)));
            await Persist(system, "n1", "n2");
            await Eventually.TrueAsync(() => firstRun.Count == 2);
            (await follower.Ask<long>(RecordingFollower.SavedOffset, Timeout)).ShouldBeGreaterThan(0);

            // Every connection now opens slowly, n3's offset snapshot write among them.
            _slow.Delay = TimeSpan.FromSeconds(2);
            await Persist(system, "n3");
            await Eventually.TrueAsync(() => firstRun.Count == 3);
            (await follower.GracefulStop(Timeout, PersistentTagFollower.StopAfterCheckpoint.Instance)).ShouldBeTrue();
            _slow.Delay = TimeSpan.Zero;
        });
        firstRun.ShouldBe(["n1", "n2", "n3"]);

        // Had n3's offset been lost with the host, n3 would come again here.
        (await SeenAfterRestart(db, "n4")).ShouldBe(["n4"]);
    }

    [Fact]
    public async Task Offsets_saved_in_quick_succession_leave_the_newest_even_when_an_earlier_write_finishes_last()
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        var firstRun = new ConcurrentQueue<string>();
        // Deferred snapshot transactions: the held-back write then does not hold SQLite's write lock, and the later
        // writes commit before it, as thread-pool scheduling can order them anyway.
        await WithSystem(db, deferredSnapshotWrites: true, async system =>
        {
            var follower = system.ActorOf(Props.Create(() => new RecordingFollower(ReadJournal(system), firstRun)));
            // All three reach the follower in one poll; n1's offset write is held back while n2's and n3's are asked for.
            _slowSnapshot.HoldFirst(TimeSpan.FromSeconds(2));
            await Persist(system, "n1", "n2", "n3");
            await Eventually.TrueAsync(() => firstRun.Count == 3);
            (await follower.GracefulStop(Timeout, PersistentTagFollower.StopAfterCheckpoint.Instance)).ShouldBeTrue();
        });
        firstRun.ShouldBe(["n1", "n2", "n3"]);
        _slowSnapshot.Held.ShouldBe(1);
        _slowSnapshot.MostAtOnce.ShouldBe(1, "offset writes in flight at once");

        // Had n1's write replaced n3's, n2 and n3 would come again here.
        (await SeenAfterRestart(db, "n4")).ShouldBe(["n4"]);
    }

    /// <summary>What a new follower over the same database receives, up to and including a new event.</summary>
    private async Task<IReadOnlyList<string>> SeenAfterRestart(PersistenceSetup.Resolved db, string newEvent)
    {
        var seen = new ConcurrentQueue<string>();
        await WithSystem(db, async system =>
        {
            system.ActorOf(Props.Create(() => new RecordingFollower(ReadJournal(system), seen)));
            await Persist(system, newEvent);
            await Eventually.TrueAsync(() => seen.Contains(newEvent));
        });
        return seen.ToArray();
    }

    private static IEventsByTagQuery ReadJournal(ActorSystem system) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);

    private static async Task Persist(ActorSystem system, params string[] nodeIds)
    {
        var writer = system.ActorOf(Props.Create(() => new NodeEventWriter($"follower-writer-{Guid.NewGuid():N}")));
        foreach (var nodeId in nodeIds) await writer.Ask<Done>(nodeId, Timeout);
        writer.Tell(PoisonPill.Instance);
    }

    private Task WithSystem(PersistenceSetup.Resolved db, Func<ActorSystem, Task> use) => WithSystem(db, deferredSnapshotWrites: false, use);

    private Task WithSystem(PersistenceSetup.Resolved db, bool deferredSnapshotWrites, Func<ActorSystem, Task> use) =>
        HostedActorSystem.RunAsync("follower", akka =>
        {
            if (deferredSnapshotWrites) akka.AddHocon("akka.persistence.snapshot-store.sql.write-isolation-level = read-uncommitted", HoconAddMode.Prepend);
            akka.WithComputeNetPersistence(db, _slow, _slowSnapshot).AddStartup((system, _) => PersistenceSetup.WaitForJournal(system, Timeout));
        }, use);

    /// <summary>Records each node id of the tag and saves its offset at once.</summary>
    private sealed class RecordingFollower : PersistentTagFollower
    {
        public const string SavedOffset = "saved-offset";

        public RecordingFollower(IEventsByTagQuery readJournal, ConcurrentQueue<string> seen) : base(readJournal, EventTags.Drift)
        {
            Seen = seen;
            Command<string>(command => command == SavedOffset, _ => Sender.Tell(Checkpoint));
        }

        private ConcurrentQueue<string> Seen { get; }

        public override string PersistenceId => "follower-checkpoint-test";

        protected override void OnEvent(EventEnvelope envelope, IActorRef stream)
        {
            if (envelope.Event is NodeEvents.NodeCameUp up) Seen.Enqueue(up.NodeId);
            SaveCheckpoint(((Sequence)envelope.Offset).Value);
            Acknowledge(stream);
        }
    }

    /// <summary>Persists a drift-tagged NodeCameUp for each node id it is sent, and answers once it is written.</summary>
    private sealed class NodeEventWriter : ReceivePersistentActor
    {
        public NodeEventWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<string>(nodeId => Persist(new NodeEvents.NodeCameUp(nodeId, DateTimeOffset.UtcNow), _ => Sender.Tell(Done.Instance)));
        }

        public override string PersistenceId { get; }
    }

    private sealed class SlowConnections : IConnectionInterceptor
    {
        public TimeSpan Delay { get; set; }

        public void ConnectionOpening(ConnectionEventData eventData, DbConnection connection) => Thread.Sleep(Delay);

        public Task ConnectionOpeningAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken) =>
            Task.Delay(Delay, cancellationToken);

        public void ConnectionOpened(ConnectionEventData eventData, DbConnection connection) { }

        public Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// Runs the snapshot row writes (the offsets a follower saves) itself, to count how many are in flight at once;
    /// once armed, holds the next one back.
    /// </summary>
    private sealed class SlowFirstSnapshotWrite : ICommandInterceptor
    {
        private TimeSpan _delay;
        private int _armed;
        private int _held;
        private int _inFlight;
        private int _mostAtOnce;

        public int Held => Volatile.Read(ref _held);

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public void HoldFirst(TimeSpan delay)
        {
            _delay = delay;
            Volatile.Write(ref _armed, 1);
        }

        public async Task<Option<int>> ExecuteNonQueryAsync(CommandEventData eventData, DbCommand command, Option<int> result, CancellationToken cancellationToken)
        {
            if (!IsSnapshotWrite(command)) return result;
            var inFlight = Interlocked.Increment(ref _inFlight);
            for (var most = _mostAtOnce; inFlight > most; most = _mostAtOnce)
                if (Interlocked.CompareExchange(ref _mostAtOnce, inFlight, most) == most) break;
            try
            {
                if (Interlocked.Exchange(ref _armed, 0) == 1)
                {
                    Interlocked.Increment(ref _held);
                    await Task.Delay(_delay, cancellationToken);
                }
                return Option<int>.Some(await command.ExecuteNonQueryAsync(cancellationToken));
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        private static bool IsSnapshotWrite(DbCommand command) =>
            command.CommandText.Contains("snapshot", StringComparison.OrdinalIgnoreCase)
            && !command.CommandText.TrimStart().StartsWith("DELETE", StringComparison.OrdinalIgnoreCase)
            && !command.CommandText.TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase);

        public DbCommand CommandInitialized(CommandEventData eventData, DbCommand command) => command;
        public Option<object?> ExecuteScalar(CommandEventData eventData, DbCommand command, Option<object?> result) => result;
        public Task<Option<object?>> ExecuteScalarAsync(CommandEventData eventData, DbCommand command, Option<object?> result, CancellationToken cancellationToken) => Task.FromResult(result);
        public Option<int> ExecuteNonQuery(CommandEventData eventData, DbCommand command, Option<int> result) => result;
        public Option<DbDataReader> ExecuteReader(CommandEventData eventData, DbCommand command, System.Data.CommandBehavior commandBehavior, Option<DbDataReader> result) => result;
        public Task<Option<DbDataReader>> ExecuteReaderAsync(CommandEventData eventData, DbCommand command, System.Data.CommandBehavior commandBehavior, Option<DbDataReader> result, CancellationToken cancellationToken) => Task.FromResult(result);
        public void AfterExecuteReader(CommandEventData eventData, DbCommand command, System.Data.CommandBehavior commandBehavior, DbDataReader dataReader) { }
        public void BeforeReaderDispose(CommandEventData eventData, DbCommand? command, DbDataReader dataReader) { }
        public Task BeforeReaderDisposeAsync(CommandEventData eventData, DbCommand? command, DbDataReader dataReader) => Task.CompletedTask;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
