using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Journal;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Nodes.NodeCommands;
using static ComputeNet.Actors.Nodes.NodeReplies;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// <see cref="SqliteEventJournal"/> through the host's SQLite wiring: what persistent actors write comes back in order after
/// a restart, deletion keeps the highest sequence number, a bad write fails alone, and telemetry checkpoints an older
/// version wrote to the SQL journal move into it.
/// </summary>
public sealed class SqliteEventJournalTests : IDisposable
{
    private const string Plugin = "computenet.persistence.event-journal";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new("computenet-event-journal");

    private PersistenceSetup.Resolved Db => PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Events_of_many_actors_written_at_once_all_come_back_in_order_after_restart()
    {
        const int actors = 300;
        await HostedActorSystem.RunAsync("event-journal", Db, async system =>
        {
            var refs = Enumerable.Range(0, actors).Select(i => system.ActorOf(Props.Create(() => new Recorder($"rec-{i}")))).ToArray();
            // Three writes each, all in flight together: they share transactions.
            await Task.WhenAll(refs.SelectMany((actor, i) => Enumerable.Range(0, 3).Select(k => actor.Ask<long>(new Recorder.Write($"{i}:{k}"), Timeout))));
            return true;
        });

        var recovered = await HostedActorSystem.RunAsync("event-journal", Db, system =>
            Task.WhenAll(Enumerable.Range(0, actors).Select(i => system.ActorOf(Props.Create(() => new Recorder($"rec-{i}"))).Ask<Recorder.State>(Recorder.Get, Timeout))));

        for (var i = 0; i < actors; i++)
        {
            recovered[i].Events.ShouldBe([$"{i}:0", $"{i}:1", $"{i}:2"]);
            recovered[i].LastSequenceNr.ShouldBe(3);
        }
        Rows("SELECT count(*) FROM event_journal").ShouldBe(actors * 3);
    }

    [Fact]
    public async Task Deleting_every_event_keeps_the_highest_sequence_number_so_numbering_continues()
    {
        await HostedActorSystem.RunAsync("event-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("deleted")));
            for (var k = 0; k < 5; k++) await actor.Ask<long>(new Recorder.Write($"e{k}"), Timeout);
            (await actor.Ask<bool>(new Recorder.DeleteTo(long.MaxValue), Timeout)).ShouldBeTrue();
            return true;
        });
        Rows("SELECT count(*) FROM event_journal WHERE persistence_id = 'deleted'").ShouldBe(1);

        var (state, next) = await HostedActorSystem.RunAsync("event-journal", Db, async system =>
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
        await HostedActorSystem.RunAsync("event-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("partial")));
            for (var k = 0; k < 6; k++) await actor.Ask<long>(new Recorder.Write($"e{k}"), Timeout);
            return true;
        });

        var state = await HostedActorSystem.RunAsync("event-journal", Db, system =>
            system.ActorOf(Props.Create(() => new Recorder("partial", 4))).Ask<Recorder.State>(Recorder.Get, Timeout));
        state.Events.ShouldBe(["e0", "e1", "e2", "e3"]);
    }

    [Fact]
    public async Task A_tagged_event_is_rejected_and_the_actor_goes_on_writing()
    {
        var (rejected, next) = await HostedActorSystem.RunAsync("event-journal", Db, async system =>
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("tagged")));
            var tagged = await actor.Ask<object>(new Recorder.Write("t", Tag: "audit"), Timeout);
            return (tagged, await actor.Ask<long>(new Recorder.Write("plain"), Timeout));
        });
        rejected.ShouldBeOfType<Recorder.Rejected>().Reason.ShouldContain("keeps no tags");
        next.ShouldBeGreaterThan(0);
        Rows("SELECT count(*) FROM event_journal WHERE persistence_id = 'tagged'").ShouldBe(1);
    }

    [Fact]
    public async Task A_sequence_number_written_twice_fails_that_write_alone_not_the_writes_it_was_batched_with()
    {
        const int others = 200;
        var (twins, bystanders) = await HostedActorSystem.RunAsync("event-journal", Db, async system =>
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
        Rows("SELECT count(*) FROM event_journal WHERE persistence_id LIKE 'by-%'").ShouldBe(others);
    }

    [Fact]
    public async Task Telemetry_checkpoints_written_to_the_sql_journal_by_an_older_version_move_over_and_recover()
    {
        var nodeId = "migrated-1";
        var settings = new NodeActorSettings(5000, 100);
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var spec = new NodeSpec(nodeId, "cn-east", NodeTier.Edge, 8, 32, 200, 0, 0.99, 60, 250, 2000, new Dictionary<string, string>());

        // The older wiring: checkpoints in the default (SQL) journal.
        await HostedActorSystem.RunAsync("event-journal-old", akka => akka.WithComputeNetPersistence(Db)
            .AddHocon($"{NodeTelemetryJournal.JournalPluginSetting} = \"\"", HoconAddMode.Prepend), async system =>
        {
            var node = system.ActorOf(NodeActor.Props(nodeId, settings, TimeProvider.System));
            var token = (await node.Ask<RegistrationAccepted>(new RegisterNode(spec), Timeout)).Agent.AgentToken;
            for (var seq = 0; seq < 4; seq++)
            {
                await node.Ask<NodeTelemetryRecorded>(new RecordNodeTelemetry(nodeId, token, [new NodeUsageSample(seq, nowMs + seq, 2 + seq, 4, 10, 0, 90, true)]), Timeout);
                await node.Ask<TelemetryCheckpointed>(new CheckpointTelemetry(nodeId, seq), Timeout);
            }
        });
        const string inSqlJournal = "SELECT count(*) FROM journal WHERE manifest = 'node-telemetry-checkpoint'";
        Rows(inSqlJournal).ShouldBe(4);

        var view = await HostedActorSystem.RunAsync("event-journal-new", Db, system =>
            system.ActorOf(NodeActor.Props(nodeId, settings, TimeProvider.System)).Ask<NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(nodeId), Timeout));

        view.HighestSeq.ShouldBe(3);
        view.AppliedSamples.ShouldBe(4);
        view.Latest!.CpuUsedCores.ShouldBe(5);
        Rows(inSqlJournal).ShouldBe(0);
        Rows($"SELECT count(*) FROM event_journal WHERE persistence_id = 'node-telemetry-{nodeId}'").ShouldBe(4);
        // The node's own lifecycle events stay where tag queries read them.
        Rows($"SELECT count(*) FROM journal WHERE persistence_id = 'node-{nodeId}'").ShouldBeGreaterThan(0);
    }

    private long Rows(string sql)
    {
        using var connection = new SqliteConnection(Db.ConnectionString);
        connection.Open();
        using var command = new SqliteCommand(sql, connection);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Persists strings to the event journal; answers a write with its sequence number, or why it was refused.</summary>
    private sealed class Recorder : ReceivePersistentActor
    {
        public const string Get = "get";

        public sealed record Write(string Event, string? Tag = null);

        public sealed record DeleteTo(long SequenceNr);

        public sealed record State(IReadOnlyList<string> Events, long LastSequenceNr);

        public sealed record Rejected(string Reason);

        public sealed record Failed(string Reason);

        private readonly List<string> _events = [];
        private IActorRef? _deleteWaiter;
        private IActorRef? _writer;

        public Recorder(string persistenceId, long recoverTo = long.MaxValue)
        {
            PersistenceId = persistenceId;
            JournalPluginId = Plugin;
            Recovery = new Recovery(SnapshotSelectionCriteria.None, recoverTo);
            Recover<string>(_events.Add);
            Command<string>(command => command == Get, _ => Sender.Tell(new State(_events.ToArray(), LastSequenceNr)));
            Command<Write>(write =>
            {
                _writer = Sender;
                object payload = write.Tag is null ? write.Event : new Tagged(write.Event, [write.Tag]);
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

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) => _writer?.Tell(new Rejected(cause.Message));

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _writer?.Tell(new Failed(cause.Message));
            base.OnPersistFailure(cause, @event, sequenceNr);
        }
    }
}
