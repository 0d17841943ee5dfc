using Akka.Actor;
using Akka.Hosting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

    private async Task<T> WithNode<T>(PersistenceSetup.Resolved db, string nodeId, Func<IActorRef, Task<T>> use, int snapshotEvery = 100)
    {
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka($"persistence-{Guid.NewGuid():N}", (akka, _) =>
                akka.WithComputeNetSerialization().WithComputeNetPersistence(db)))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var node = system.ActorOf(NodeActor.Props(nodeId, new NodeActorSettings(5000, snapshotEvery), TimeProvider.System));
            return await use(node);
        }
        finally
        {
            await host.StopAsync();
        }
    }

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

public sealed class PostgresNodePersistenceTests : NodePersistenceTests
{
    protected override PersistenceSetup.Resolved Database() =>
        PersistenceSetup.Resolve(new PersistenceOptions { Provider = "postgresql", ConnectionString = PostgresServer.ConnectionString() }, "unused");
}
