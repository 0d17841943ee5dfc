using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// <see cref="SqliteJournal"/>, the host's SQLite write journal: what many actors write at once shares a few
/// transactions and comes back in order after a restart, the SQL read journal finds it by tag, deletion keeps the highest
/// sequence number, a bad write fails alone, and a database the SQL journal wrote is read and continued.
/// </summary>
public sealed class SqliteJournalTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new("computenet-sqlite-journal");

    private PersistenceSetup.Resolved Db => PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Events_of_many_actors_written_at_once_share_a_few_transactions_and_come_back_in_order_after_restart()
    {
        const int actors = 1000;
        await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            var refs = Enumerable.Range(0, actors).Select(i => system.ActorOf(Props.Create(() => new Recorder($"rec-{i}")))).ToArray();
            // Three writes each, all in flight together: they share transactions.
            await Task.WhenAll(refs.SelectMany((actor, i) => Enumerable.Range(0, 3).Select(k => actor.Ask<long>(new Recorder.Write($"{i}:{k}"), Timeout))));
            return true;
        });

        var recovered = await HostedActorSystem.RunAsync("sqlite-journal", Db, system =>
            Task.WhenAll(Enumerable.Range(0, actors).Select(i => system.ActorOf(Props.Create(() => new Recorder($"rec-{i}"))).Ask<Recorder.State>(Recorder.Get, Timeout))));

        for (var i = 0; i < actors; i++)
        {
            recovered[i].Events.ShouldBe([$"{i}:0", $"{i}:1", $"{i}:2"]);
            recovered[i].LastSequenceNr.ShouldBe(3);
        }
        Rows("SELECT count(*) FROM journal WHERE persistence_id LIKE 'rec-%'").ShouldBe(actors * 3);
        // A transaction's rows share their commit time; one transaction per event would be 3,000.
        var transactions = Rows("SELECT count(DISTINCT created) FROM journal WHERE persistence_id LIKE 'rec-%'");
        transactions.ShouldBeLessThan(actors * 3 / 4, $"{transactions} transactions for {actors * 3} events");
    }

    [Fact]
    public async Task Deleting_every_event_keeps_the_highest_sequence_number_so_numbering_continues()
    {
        await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("deleted")));
            for (var k = 0; k < 5; k++) await actor.Ask<long>(new Recorder.Write($"e{k}"), Timeout);
            (await actor.Ask<bool>(new Recorder.DeleteTo(long.MaxValue), Timeout)).ShouldBeTrue();
            return true;
        });
        Rows("SELECT count(*) FROM journal WHERE persistence_id = 'deleted'").ShouldBe(1);

        var (state, next) = await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("deleted")));
            var recovered = await actor.Ask<Recorder.State>(Recorder.Get, Timeout);
            return (recovered, await actor.Ask<long>(new Recorder.Write("after"), Timeout));
        });
        state.Events.ShouldBeEmpty();
        state.LastSequenceNr.ShouldBe(5);
        next.ShouldBe(6);
    }

    [Fact]
    public async Task Recovery_can_stop_at_a_sequence_number()
    {
        await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("partial")));
            for (var k = 0; k < 6; k++) await actor.Ask<long>(new Recorder.Write($"e{k}"), Timeout);
            return true;
        });

        var state = await HostedActorSystem.RunAsync("sqlite-journal", Db, system =>
            system.ActorOf(Props.Create(() => new Recorder("partial", 4))).Ask<Recorder.State>(Recorder.Get, Timeout));
        state.Events.ShouldBe(["e0", "e1", "e2", "e3"]);
    }

    [Fact]
    public async Task Tagged_events_are_found_by_the_sql_read_journal_with_their_tags_in_its_format()
    {
        var found = await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("tagged")));
            await actor.Ask<long>(new Recorder.Write("t1", ["audit", "x"]), Timeout);
            await actor.Ask<long>(new Recorder.Write("plain"), Timeout);
            await actor.Ask<long>(new Recorder.Write("t2", ["audit"]), Timeout);
            return await EventsByTag(system, "audit");
        });
        found.ShouldBe(["t1", "t2"]);
        Tags("tagged", 1).Split(';', StringSplitOptions.RemoveEmptyEntries).Order().ShouldBe(["audit", "x"]);
        Tags("tagged", 1).ShouldStartWith(";");
        Tags("tagged", 1).ShouldEndWith(";");
        Tags("tagged", 2).ShouldBe("");
    }

    [Fact]
    public async Task A_journal_the_sql_journal_wrote_is_recovered_and_continued_and_tag_queries_see_both()
    {
        await HostedActorSystem.RunAsync("sql-journal", akka => akka.WithComputeNetPersistence(Db)
            .AddHocon("akka.persistence.journal.plugin = \"akka.persistence.journal.sql\"", HoconAddMode.Prepend), async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("upgraded")));
            await actor.Ask<long>(new Recorder.Write("old-1", ["audit"]), Timeout);
            await actor.Ask<long>(new Recorder.Write("old-2", ["audit"]), Timeout);
        });
        // Written by the SQL journal: its own writer id, not this journal's commit-time rows.
        Rows("SELECT count(*) FROM journal WHERE persistence_id = 'upgraded'").ShouldBe(2);

        var (state, next, found) = await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("upgraded")));
            var recovered = await actor.Ask<Recorder.State>(Recorder.Get, Timeout);
            var seq = await actor.Ask<long>(new Recorder.Write("new-3", ["audit"]), Timeout);
            return (recovered, seq, await EventsByTag(system, "audit"));
        });
        state.Events.ShouldBe(["old-1", "old-2"]);
        next.ShouldBe(3);
        found.ShouldBe(["old-1", "old-2", "new-3"]);
    }

    [Fact]
    public async Task A_sequence_number_written_twice_fails_that_write_alone_not_the_writes_it_was_batched_with()
    {
        const int others = 200;
        var (twins, bystanders) = await HostedActorSystem.RunAsync("sqlite-journal", Db, async system =>
        {
            // Two incarnations of one persistence id both write sequence number 1: one of them must fail.
            var first = system.ActorOf(Props.Create(() => new Recorder("twin")));
            var second = system.ActorOf(Props.Create(() => new Recorder("twin")));
            await Task.WhenAll(first.Ask<Recorder.State>(Recorder.Get, Timeout), second.Ask<Recorder.State>(Recorder.Get, Timeout));
            var bystanders = Enumerable.Range(0, others).Select(i => system.ActorOf(Props.Create(() => new Recorder($"by-{i}")))).ToArray();
            await Task.WhenAll(bystanders.Select(b => b.Ask<Recorder.State>(Recorder.Get, Timeout)));

            var writes = bystanders.Select(b => b.Ask<object>(new Recorder.Write("x"), Timeout))
                .Concat([first.Ask<object>(new Recorder.Write("a"), Timeout), second.Ask<object>(new Recorder.Write("b"), Timeout)]).ToArray();
            var results = await Task.WhenAll(writes);
            return (results[^2..], results[..^2]);
        });

        twins.Count(r => r is long).ShouldBe(1);
        twins.Count(r => r is Recorder.Failed).ShouldBe(1);
        bystanders.ShouldAllBe(r => r is long && (long)r == 1);
        Rows("SELECT count(*) FROM journal WHERE persistence_id LIKE 'by-%'").ShouldBe(others);
    }

    private static async Task<string[]> EventsByTag(ActorSystem system, string tag) =>
        (await PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByTag(tag, Offset.NoOffset())
            .RunWith(Sink.Seq<EventEnvelope>(), system.Materializer()))
        .Select(envelope => (string)envelope.Event).ToArray();

    private string Tags(string persistenceId, long sequenceNr) =>
        (string)SqliteScalar.Of(Db, $"SELECT tags FROM journal WHERE persistence_id = '{persistenceId}' AND sequence_number = {sequenceNr}")!;

    private long Rows(string sql) => (long)SqliteScalar.Of(Db, sql)!;

    /// <summary>Persists strings (tagged when asked); answers a write with its sequence number, or why it failed.</summary>
    private sealed class Recorder : ReceivePersistentActor
    {
        public const string Get = "get";

        public sealed record Write(string Event, string[]? Tags = null);

        public sealed record DeleteTo(long SequenceNr);

        public sealed record State(IReadOnlyList<string> Events, long LastSequenceNr);

        public sealed record Failed(string Reason);

        private readonly List<string> _events = [];
        private IActorRef? _deleteWaiter;
        private IActorRef? _writer;

        public Recorder(string persistenceId, long recoverTo = long.MaxValue)
        {
            PersistenceId = persistenceId;
            Recovery = new Recovery(SnapshotSelectionCriteria.None, recoverTo);
            Recover<string>(_events.Add);
            Command<string>(command => command == Get, _ => Sender.Tell(new State(_events.ToArray(), LastSequenceNr)));
            Command<Write>(write =>
            {
                _writer = Sender;
                object payload = write.Tags is null ? write.Event : new Tagged(write.Event, write.Tags);
                Persist(payload, _ =>
                {
                    _events.Add(write.Event);
                    Sender.Tell(LastSequenceNr);
                });
            });
            Command<DeleteTo>(delete =>
            {
                _deleteWaiter = Sender;
                DeleteMessages(delete.SequenceNr);
            });
            Command<DeleteMessagesSuccess>(_ => _deleteWaiter?.Tell(true));
            Command<DeleteMessagesFailure>(_ => _deleteWaiter?.Tell(false));
        }

        public override string PersistenceId { get; }

        public override Recovery Recovery { get; }

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _writer?.Tell(new Failed(cause.Message));
            base.OnPersistFailure(cause, @event, sequenceNr);
        }
    }
}
