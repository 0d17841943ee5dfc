using System.Data.Common;
using Akka.Actor;
using Akka.Persistence;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using LinqToDB.Interceptors;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// Through the host's SQLite wiring, events that many actors persist at once share transactions: the journal only
/// batches writes that arrive while one is in flight, and Microsoft.Data.Sqlite completes its "async" calls
/// synchronously, which used to make every event its own transaction (and its own fsync).
/// </summary>
public sealed class SqliteWriteBatchingTests : IDisposable
{
    private const int Actors = 1000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new("computenet-sqlite-batching");

    [Fact]
    public async Task Events_persisted_together_by_a_thousand_actors_share_a_few_transactions_and_all_survive_restart()
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        var opened = new CountingOpens();

        await WithSystem(db, opened, async system =>
        {
            var actors = Enumerable.Range(0, Actors).Select(i => system.ActorOf(Props.Create(() => new OneEvent($"batching-{i}")))).ToArray();
            // Recovery reads open connections of their own; only the writes after it are counted.
            await Task.WhenAll(actors.Select(a => a.Ask<int>(OneEvent.Count, Timeout)));
            opened.Reset();

            await Task.WhenAll(actors.Select(a => a.Ask<int>(OneEvent.Persist, Timeout)));
            // Unbatched, that is one connection (one transaction) per event.
            opened.Count.ShouldBeLessThan(Actors / 4, $"{opened.Count} write connections for {Actors} events");
            opened.Count.ShouldBeGreaterThan(0);
        });

        await WithSystem(db, new CountingOpens(), async system =>
        {
            var counts = await Task.WhenAll(Enumerable.Range(0, Actors)
                .Select(i => system.ActorOf(Props.Create(() => new OneEvent($"batching-{i}"))).Ask<int>(OneEvent.Count, Timeout)));
            counts.ShouldAllBe(c => c == 1);
        });
    }

    private static Task WithSystem(PersistenceSetup.Resolved db, CountingOpens opened, Func<ActorSystem, Task> use) =>
        HostedActorSystem.RunAsync("batching", akka => akka.WithComputeNetPersistence(db, opened), use);

    /// <summary>Persists one string event per Persist and answers with how many it holds.</summary>
    private sealed class OneEvent : ReceivePersistentActor
    {
        public const string Persist = "persist";
        public const string Count = "count";
        private int _events;

        public OneEvent(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<string>(_ => _events++);
            Command<string>(command => command == Persist, _ => Persist(Persist, _ =>
            {
                _events++;
                Sender.Tell(_events);
            }));
            Command<string>(command => command == Count, _ => Sender.Tell(_events));
        }

        public override string PersistenceId { get; }
    }

    private sealed class CountingOpens : IConnectionInterceptor
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Reset() => Interlocked.Exchange(ref _count, 0);

        public void ConnectionOpening(ConnectionEventData eventData, DbConnection connection) => Interlocked.Increment(ref _count);

        public Task ConnectionOpeningAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }

        public void ConnectionOpened(ConnectionEventData eventData, DbConnection connection) { }

        public Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
