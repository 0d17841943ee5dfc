using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Akka.Streams;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Drift;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Learning;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Actors.Topology;

namespace ComputeNet.Host.Hosting;

/// <summary>Registry key of the node shard region.</summary>
public sealed class NodeRegion;

/// <summary>Registry key of the topology actor (the proxy of the cluster singleton).</summary>
public sealed class TopologyKey;

/// <summary>Registry key of the app shard region.</summary>
public sealed class AppRegion;

/// <summary>Registry key of this member's scheduler.</summary>
public sealed class SchedulerKey;

/// <summary>Registry key of this member's agent-command outbox.</summary>
public sealed class AgentOutboxKey;

/// <summary>Registry key of the self-evolving policy's actor (registered only with ComputeNet:Drl:SelfEvolving).</summary>
public sealed class PolicyEvolutionKey;

/// <summary>Registry key of the cluster's rescheduler (a singleton proxy).</summary>
public sealed class ReschedulerKey;

/// <summary>Akka.Hosting wiring, one extension method per area.</summary>
public static class AkkaSetup
{
    public const string SystemName = "computenet";

    public static AkkaConfigurationBuilder WithComputeNetSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("computenet", [typeof(IComputeNetMessage)], system => new ComputeNetSerializer(system));

    /// <param name="observers">linq2db interceptors on the SQL plugins' connections and commands (tests watch or slow them).</param>
    public static AkkaConfigurationBuilder WithComputeNetPersistence(this AkkaConfigurationBuilder builder, PersistenceSetup.Resolved db,
        params LinqToDB.Interceptors.IInterceptor[] observers)
    {
        PersistenceSetup.Prepare(db);
        if (observers.Length > 0) builder.AddSetup(SqlPluginInterceptors.Setup(db, observers));
        return builder
            .AddHocon(PersistenceSetup.Hocon(db), HoconAddMode.Prepend)
            .AddHocon(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration, HoconAddMode.Append);
    }

    public static AkkaConfigurationBuilder WithComputeNetCluster(this AkkaConfigurationBuilder builder, ClusterNodeOptions options)
    {
        builder
            .WithRemoting(options.Hostname, options.Port)
            .WithClustering(new ClusterOptions { SeedNodes = options.SeedNodes, Roles = ["computenet"] });

        if (options.SeedNodes.Length == 0)
        {
            // Embedded default: a one-node cluster that joins itself.
            builder.AddStartup((system, _) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
        }
        return builder;
    }

    public static AkkaConfigurationBuilder WithComputeNetNodes(this AkkaConfigurationBuilder builder, ClusterNodeOptions cluster, NodeActorSettings settings) =>
        builder.WithEntities<NodeRegion>("node", nodeId => NodeActor.Props(nodeId, settings, TimeProvider.System), new NodeMessageExtractor(cluster.Shards));

    public static AkkaConfigurationBuilder WithComputeNetApps(this AkkaConfigurationBuilder builder, ClusterNodeOptions cluster, AppActorSettings settings,
        AppSchedulingSettings? scheduling = null) =>
        builder.WithShardRegion<AppRegion>(
            "app",
            (_, registry, _) =>
            {
                // Resolved when the first app starts, after every actor of the host is registered.
                AppScheduling? refs = null;
                return appId =>
                {
                    refs ??= scheduling is null ? null : new AppScheduling(registry.Get<SchedulerKey>(), registry.Get<NodeRegion>(), registry.Get<AgentOutboxKey>(), scheduling);
                    return AppActor.Props(appId, settings, TimeProvider.System, refs);
                };
            },
            new AppMessageExtractor(cluster.Shards),
            EntityOptions);

    /// <summary>
    /// The scheduler (plans on the live fleet, reserves on the NodeActors) and the outbox that publishes the
    /// apps' deploy commands on Kafka. Needs the node region, the directories and the topology registered first.
    /// </summary>
    public static AkkaConfigurationBuilder WithComputeNetScheduling(this AkkaConfigurationBuilder builder, SchedulerSettings settings, Func<ActorSystem, Props> outbox,
        PolicyEvolutionSettings? evolution = null) =>
        builder.WithActors((system, registry) =>
        {
            registry.Register<AgentOutboxKey>(system.ActorOf(outbox(system), "agent-outbox"));
            var policies = PolicyRegistry.CreateDefault();
            DrlPlacementPolicy.Register(policies, log: message => system.Log.Info(message));
            if (evolution is not null)
            {
                // Self-evolving: the learned policy is loaded now (not on first use) so that it records from the first decision.
                var drl = (DrlPlacementPolicy)policies.Get(DrlPlacementPolicy.PolicyName);
                drl.Recorder = new DecisionRecorder(evolution.Options.MaxRecorded);
                registry.Register<PolicyEvolutionKey>(system.ActorOf(PolicyEvolutionActor.Props(drl, evolution), PolicyEvolutionActor.Id));
            }
            registry.Register<SchedulerKey>(system.ActorOf(SchedulerActor.Props(registry.Get<NodeRegion>(), registry.Get<NodeDirectory>(),
                registry.Get<TopologyKey>(), policies, settings), "scheduler"));
        });

    /// <summary>
    /// The rescheduler (运行调整), once per cluster: a singleton on the oldest member, following the journal's drift tag.
    /// Needs the node and app regions, the directories and the topology registered first.
    /// </summary>
    public static AkkaConfigurationBuilder WithComputeNetAdjustment(this AkkaConfigurationBuilder builder, ReschedulerSettings settings) =>
        builder.WithSingleton<ReschedulerKey>(ReschedulerActor.Id, (system, registry, _) =>
        {
            var readJournal = Akka.Persistence.Query.PersistenceQuery.Get(system)
                .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
            var refs = new ReschedulerRefs(registry.Get<NodeRegion>(), registry.Get<NodeDirectory>(), registry.Get<TopologyKey>(),
                registry.Get<AppDirectory>(), registry.Get<AppRegion>());
            return ReschedulerActor.Props(readJournal, refs, settings, TimeProvider.System);
        }, FollowerSingletonOptions);

    /// <summary>A shard region of persistent entities: not remembered (the entity set is unbounded), passivated when idle.</summary>
    private static AkkaConfigurationBuilder WithEntities<TRegion>(this AkkaConfigurationBuilder builder, string typeName, Func<string, Props> props, IMessageExtractor extractor) =>
        builder.WithShardRegion<TRegion>(typeName, (_, _, _) => props, extractor, EntityOptions);

    private static ShardOptions EntityOptions => new() { RememberEntities = false, Role = "computenet", PassivateIdleEntityAfter = TimeSpan.FromMinutes(10) };

    /// <summary>
    /// The network graph and its link state (算力感知 of the network). One per cluster: every member's link
    /// telemetry feeds it and it persists under one id, so it is a cluster singleton and the registry holds its proxy.
    /// </summary>
    public static AkkaConfigurationBuilder WithComputeNetTopology(this AkkaConfigurationBuilder builder, TopologyActorSettings settings) =>
        builder.WithSingleton<TopologyKey>(TopologyActor.Id, (_, _, _) => TopologyActor.Props(settings, TimeProvider.System), SingletonOptions);

    /// <summary>
    /// Singletons live on the members that host entities; the proxy buffers (at most Akka's limit) while the
    /// singleton moves between members, so telemetry sent during a hand-over waits instead of being dropped.
    /// </summary>
    public static ClusterSingletonOptions SingletonOptions => new() { Role = "computenet", BufferSize = 10_000 };

    /// <summary>A tag follower's singleton stops (on hand-over or shutdown) only once the offsets it is saving are written.</summary>
    private static ClusterSingletonOptions FollowerSingletonOptions => new()
    {
        Role = SingletonOptions.Role, BufferSize = SingletonOptions.BufferSize, TerminationMessage = PersistentTagFollower.StopAfterCheckpoint.Instance,
    };

    private static void WakeNodesLastSeenUp(ActorSystem system, IActorRegistry registry, Akka.Persistence.Query.ICurrentEventsByTagQuery readJournal) =>
        _ = Task.Run(async () =>
        {
            try
            {
                var region = await registry.GetAsync<NodeRegion>();
                var woken = await NodeWakeUp.WakeNodesLastSeenUp(readJournal, region, system.Materializer());
                if (woken > 0) system.Log.Info("Woke {0} nodes last seen up, so their silence timeouts run again", woken);
            }
            catch (Exception e)
            {
                system.Log.Warning(e, "Could not wake the nodes last seen up; silent ones are marked down only once they are next addressed");
            }
        });

    /// <summary>The journal-fed read models behind the list endpoints.</summary>
    public static AkkaConfigurationBuilder WithComputeNetDirectories(this AkkaConfigurationBuilder builder, ForecastOptions forecast) =>
        builder.WithActors((system, registry) =>
        {
            PersistenceSetup.WaitForJournal(system, TimeSpan.FromSeconds(60));
            var readJournal = Akka.Persistence.Query.PersistenceQuery.Get(system)
                .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
            registry.Register<NodeDirectory>(system.ActorOf(NodeDirectory.Props(readJournal), "node-directory"));
            WakeNodesLastSeenUp(system, registry, readJournal);
            registry.Register<AppDirectory>(system.ActorOf(AppDirectory.Props(readJournal), "app-directory"));
            registry.Register<DriftEventLog>(system.ActorOf(DriftEventLog.Props(readJournal, forecast.DriftEventsKept), "drift-event-log"));
        });
}
