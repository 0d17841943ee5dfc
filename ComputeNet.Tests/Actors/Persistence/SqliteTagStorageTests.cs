using Akka;
using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// On SQLite the journal keeps tags in its own column, so tagged events go in multi-row inserts; a database the tag
/// table was written to is converted when the host opens it. Through the host's SQLite wiring and the real plugin.
/// </summary>
public sealed class SqliteTagStorageTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new("computenet-tag-storage");

    [Fact]
    public async Task A_journal_written_with_the_tag_table_keeps_every_tagged_event_findable_after_the_conversion_and_takes_new_ones()
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        // The layout before tags moved into the journal: the plugin's tag table, written by the SQL journal itself.
        await HostedActorSystem.RunAsync("tag-table", akka => akka
            .WithComputeNetPersistence(db)
            .AddHocon("""
                akka.persistence.journal.plugin = "akka.persistence.journal.sql"
                akka.persistence.journal.sql.tag-write-mode = TagTable
                akka.persistence.query.journal.sql.tag-read-mode = TagTable
                """, HoconAddMode.Prepend), async system =>
        {
            await Persist(system, "old-writer", new NodeEvents.NodeCameUp("n1", DateTimeOffset.UtcNow), new NodeEvents.NodeWentDown("n2", "silent", DateTimeOffset.UtcNow));
            (await DriftTagged(system)).ShouldBe(["n1", "n2"]);
        });
        TableExists(db, "tags").ShouldBeTrue("the first run must have written the tag table, or this tests nothing");
        ColumnExists(db, "journal", "tags").ShouldBeFalse();

        await HostedActorSystem.RunAsync("tag-column", db, async system =>
        {
            (await DriftTagged(system)).ShouldBe(["n1", "n2"]);
            await Persist(system, "new-writer", new NodeEvents.NodeCameUp("n3", DateTimeOffset.UtcNow));
            (await DriftTagged(system)).ShouldBe(["n1", "n2", "n3"]);
            return true;
        });
        TableExists(db, "tags").ShouldBeFalse();
        // Both in the plugin's format, ";a;b;": the converted row as the plugin itself writes one.
        foreach (var writer in new[] { "old-writer", "new-writer" })
        {
            var tags = TagsOf(db, writer);
            tags.ShouldStartWith(";");
            tags.ShouldEndWith(";");
            tags.Split(';', StringSplitOptions.RemoveEmptyEntries).Order().ShouldBe(["all", "drift", "node"]);
        }
    }

    [Fact]
    public async Task Tagged_events_of_many_writers_share_batched_inserts_and_are_all_found_by_tag()
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        await HostedActorSystem.RunAsync("tag-batches", db, async system =>
        {
            var writes = Enumerable.Range(0, 500).Select(i => Persist(system, $"writer-{i}", new NodeEvents.NodeCameUp($"n{i:D3}", DateTimeOffset.UtcNow)));
            await Task.WhenAll(writes);
            (await DriftTagged(system)).Order().ShouldBe(Enumerable.Range(0, 500).Select(i => $"n{i:D3}"));
            return true;
        });
        TableExists(db, "tags").ShouldBeFalse("a new SQLite journal has no tag table");
    }

    private static async Task Persist(ActorSystem system, string persistenceId, params object[] events)
    {
        var writer = system.ActorOf(Props.Create(() => new EventWriter(persistenceId)));
        foreach (var @event in events) await writer.Ask<Done>(@event, Timeout);
        writer.Tell(PoisonPill.Instance);
    }

    private static async Task<IReadOnlyList<string>> DriftTagged(ActorSystem system)
    {
        var events = await PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByTag(EventTags.Drift, Offset.NoOffset())
            .RunWith(Sink.Seq<EventEnvelope>(), system.Materializer());
        return events.Select(e => ((INodeEvent)e.Event).NodeId).ToArray();
    }

    private static bool TableExists(PersistenceSetup.Resolved db, string table) =>
        SqliteScalar.Of(db, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'") is > 0L;

    private static bool ColumnExists(PersistenceSetup.Resolved db, string table, string column) =>
        SqliteScalar.Of(db, $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = '{column}'") is > 0L;

    private static string TagsOf(PersistenceSetup.Resolved db, string persistenceId) =>
        (string)SqliteScalar.Of(db, $"SELECT tags FROM journal WHERE persistence_id = '{persistenceId}' ORDER BY sequence_number LIMIT 1")!;

    private sealed class EventWriter : ReceivePersistentActor
    {
        public EventWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<object>(@event => Persist(@event, _ => Sender.Tell(Done.Instance)));
        }

        public override string PersistenceId { get; }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
