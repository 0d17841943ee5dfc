using Akka.Actor;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Nodes.NodeCommands;
using static ComputeNet.Actors.Nodes.NodeReplies;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// The same NodeActor behaviour, through the host's own persistence wiring, on SQLite and on a real
/// PostgreSQL server: events persist, an actor restarted in a new actor system recovers them.
/// </summary>
public abstract class NodePersistenceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    protected abstract PersistenceSetup.Resolved Database();

    private static NodeSpec Spec(string nodeId, double cpuCores = 8) =>
        new(nodeId, "cn-east", NodeTier.Edge, cpuCores, 32, 200, 0, 0.99, 60, 250, 2000, new Dictionary<string, string>());

    private async Task<T> WithNode<T>(PersistenceSetup.Resolved db, string nodeId, Func<IActorRef, Task<T>> use, int snapshotEvery = 100) =>
        await WithNode(db, nodeId, (node, _) => use(node), new NodeActorSettings(5000, snapshotEvery));

    private static Task<T> WithNode<T>(PersistenceSetup.Resolved db, string nodeId, Func<IActorRef, ActorSystem, Task<T>> use, NodeActorSettings settings) =>
        HostedActorSystem.RunAsync("persistence", db, system => use(system.ActorOf(NodeActor.Props(nodeId, settings, TimeProvider.System)), system));

    [Fact]
    public async Task A_registered_node_is_recovered_by_a_new_actor_system_with_the_same_agent()
    {
        var db = Database();
        var nodeId = $"node-{Guid.NewGuid():N}";

        var first = await WithNode(db, nodeId, node => node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout));
        first.Outcome.ShouldBe(RegistrationOutcome.Registered);

        var recovered = await WithNode(db, nodeId, node => node.Ask<NodeView>(new NodeQueries.GetNode(nodeId), Timeout));
        recovered.Spec.ShouldBe(Spec(nodeId));
        recovered.AgentId.ShouldBe(first.Agent.AgentId);
        recovered.Lifecycle.ShouldBe(NodeLifecycle.Registered);
        recovered.Version.ShouldBe(1);
    }

    [Fact]
    public async Task Re_registration_is_idempotent_and_a_changed_spec_is_an_update_that_survives_restart()
    {
        var db = Database();
        var nodeId = $"node-{Guid.NewGuid():N}";

        var outcomes = await WithNode(db, nodeId, async node =>
        {
            var a = await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout);
            var b = await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout);
            var c = await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId, cpuCores: 16)), Timeout);
            return (a, b, c);
        });
        outcomes.a.Outcome.ShouldBe(RegistrationOutcome.Registered);
        outcomes.b.Outcome.ShouldBe(RegistrationOutcome.Unchanged);
        outcomes.b.Agent.ShouldBe(outcomes.a.Agent);
        outcomes.c.Outcome.ShouldBe(RegistrationOutcome.Updated);
        outcomes.c.Agent.ShouldBe(outcomes.a.Agent);

        var recovered = await WithNode(db, nodeId, node => node.Ask<NodeView>(new NodeQueries.GetNode(nodeId), Timeout));
        recovered.Spec.CpuCores.ShouldBe(16);
        recovered.Version.ShouldBe(2); // registered + updated; the unchanged re-registration persisted nothing
    }

    [Fact]
    public async Task Deregistration_survives_restart_and_re_registration_issues_a_new_agent_token()
    {
        var db = Database();
        var nodeId = $"node-{Guid.NewGuid():N}";

        var first = await WithNode(db, nodeId, async node =>
        {
            var registered = await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout);
            (await node.Ask<DeregistrationAccepted>(new DeregisterNode(nodeId), Timeout)).WasRegistered.ShouldBeTrue();
            (await node.Ask<DeregistrationAccepted>(new DeregisterNode(nodeId), Timeout)).WasRegistered.ShouldBeFalse();
            return registered;
        });

        var again = await WithNode(db, nodeId, async node =>
        {
            (await node.Ask<NodeView>(new NodeQueries.GetNode(nodeId), Timeout)).Lifecycle.ShouldBe(NodeLifecycle.Deregistered);
            return await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout);
        });
        again.Outcome.ShouldBe(RegistrationOutcome.Registered);
        again.Agent.AgentToken.ShouldNotBe(first.Agent.AgentToken);
    }

    [Fact]
    public async Task State_is_recovered_from_a_snapshot_plus_later_events()
    {
        var db = Database();
        var nodeId = $"node-{Guid.NewGuid():N}";

        await WithNode(db, nodeId, async node =>
        {
            await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId, 1)), Timeout);
            for (var cores = 2; cores <= 7; cores++)
                await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId, cores)), Timeout);
            return 0;
        }, snapshotEvery: 3);

        var recovered = await WithNode(db, nodeId, node => node.Ask<NodeView>(new NodeQueries.GetNode(nodeId), Timeout), snapshotEvery: 3);
        recovered.Spec.CpuCores.ShouldBe(7);
        recovered.Version.ShouldBe(7);
    }

    [Fact]
    public async Task Telemetry_checkpoints_survive_restart_in_a_compacted_journal_of_their_own()
    {
        var db = Database();
        var nodeId = $"node-{Guid.NewGuid():N}";
        var settings = new NodeActorSettings(5000, 100) { TelemetrySnapshotEvery = 4, TelemetryHistoryWindows = 5 };
        const int windows = 12;
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var (lifecycleEvents, telemetryEvents) = await WithNode(db, nodeId, async (node, system) =>
        {
            var token = (await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout)).Agent.AgentToken;
            for (var window = 0; window < windows; window++)
            {
                var samples = Enumerable.Range(0, 3)
                    .Select(i => new NodeUsageSample(window * 3 + i, nowMs + window * 1000 + i, 1 + window * 0.25, 4, 10, 0, 100, true))
                    .ToList();
                (await node.Ask<NodeTelemetryRecorded>(new RecordNodeTelemetry(nodeId, token, samples), Timeout)).Applied.ShouldBe(3);
                await node.Ask<TelemetryCheckpointed>(new CheckpointTelemetry(nodeId, window * 3 + 2), Timeout);
            }
            // The telemetry journal's snapshot-then-delete is asynchronous: count rows until it has landed (bounded).
            var journal = Akka.Persistence.Query.PersistenceQuery.Get(system)
                .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
            var materializer = Akka.Streams.ActorMaterializer.Create(system);
            var lifecycle = await journal.CurrentEventsByPersistenceId(ComputeNet.Actors.Persistence.PersistenceIds.Node(nodeId), 0, long.MaxValue)
                .RunAggregate(0, (n, _) => n + 1, materializer);
            var telemetry = 0;
            for (var attempt = 0; attempt < 40; attempt++)
            {
                telemetry = await journal.CurrentEventsByPersistenceId(ComputeNet.Actors.Persistence.PersistenceIds.NodeTelemetry(nodeId), 0, long.MaxValue)
                    .RunAggregate(0, (n, _) => n + 1, materializer);
                if (telemetry < windows) break;
                await Task.Delay(250);
            }
            return (lifecycle, telemetry);
        }, settings);

        // Registered + came up: checkpoints never enter the node's audit trail ...
        lifecycleEvents.ShouldBe(2);
        // ... and the telemetry journal drops what its snapshots cover.
        telemetryEvents.ShouldBeLessThan(windows);

        var view = await WithNode(db, nodeId, (node, _) => node.Ask<NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(nodeId), Timeout), settings);
        view.HighestSeq.ShouldBe(windows * 3 - 1);
        view.AppliedSamples.ShouldBe(windows * 3);
        view.History.Count.ShouldBe(5);
        view.History[^1].Samples.ShouldBe(3);
        view.Latest!.CpuUsedCores.ShouldBe(1 + (windows - 1) * 0.25);
        view.Health.ShouldBe(NodeHealth.Up);
    }

    [Fact]
    public async Task A_new_registration_after_deregistration_starts_telemetry_afresh_after_restart()
    {
        var db = Database();
        var nodeId = $"node-{Guid.NewGuid():N}";
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var settings = new NodeActorSettings(5000, 100);

        await WithNode(db, nodeId, async (node, _) =>
        {
            var token = (await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout)).Agent.AgentToken;
            await node.Ask<NodeTelemetryRecorded>(new RecordNodeTelemetry(nodeId, token, [new NodeUsageSample(40, nowMs, 1, 1, 1, 0, 80, true)]), Timeout);
            await node.Ask<TelemetryCheckpointed>(new CheckpointTelemetry(nodeId, 40), Timeout);
            await node.Ask<DeregistrationAccepted>(new DeregisterNode(nodeId), Timeout);
            var fresh = (await node.Ask<RegistrationAccepted>(new RegisterNode(Spec(nodeId)), Timeout)).Agent.AgentToken;
            // The new agent counts from 0 again: accepted, not a duplicate of the old agent's seq 40.
            (await node.Ask<NodeTelemetryRecorded>(new RecordNodeTelemetry(nodeId, fresh, [new NodeUsageSample(0, nowMs, 2, 1, 1, 0, 80, true)]), Timeout))
                .Applied.ShouldBe(1);
            await node.Ask<TelemetryCheckpointed>(new CheckpointTelemetry(nodeId, 0), Timeout);
            return 0;
        }, settings);

        var view = await WithNode(db, nodeId, (node, _) => node.Ask<NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(nodeId), Timeout), settings);
        view.HighestSeq.ShouldBe(0);
        view.AppliedSamples.ShouldBe(1);
        view.History.Count.ShouldBe(1);
    }
}

public sealed class SqliteNodePersistenceTests : NodePersistenceTests, IDisposable
{
    private readonly TempDirectory _dir = new("computenet-sqlite");

    protected override PersistenceSetup.Resolved Database() =>
        PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}

public sealed class PostgresNodePersistenceTests : NodePersistenceTests, IDisposable
{
    // Each test has a database (and so a connection pool) of its own: close the pool's idle connections when done.
    void IDisposable.Dispose() => Npgsql.NpgsqlConnection.ClearAllPools();

    protected override PersistenceSetup.Resolved Database() =>
        PersistenceSetup.Resolve(new PersistenceOptions { Provider = "postgresql", ConnectionString = PostgresServer.FreshDatabase() }, "unused");
}
