using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static ComputeNet.Actors.Scheduling.DeploymentProtocol;

namespace ComputeNet.Tests.Scheduling;

/// <summary>
/// Stands in for the fleet's agents behind the outbox (the Kafka path is covered end to end): records every
/// deploy command, reports it published, and — when <see cref="Acknowledge"/> is on — acknowledges it to the app.
/// </summary>
public sealed class RecordingAgents : ReceiveActor
{
    public sealed record SetAcknowledge(bool On);

    public sealed record GetRecorded;

    public sealed record Recorded(IReadOnlyList<SubtaskDeployment> Deployments, IReadOnlyList<SubtaskRemoval> Removals)
    {
        /// <summary>Every command in the order the outbox got it: deployments, switches and removals.</summary>
        public IReadOnlyList<object> Commands { get; init; } = [];

        public IReadOnlyList<TrafficSwitch> Switches => [.. Commands.OfType<TrafficSwitch>()];
    }

    private readonly List<SubtaskDeployment> _deployments = [];
    private readonly List<SubtaskRemoval> _removals = [];
    private readonly List<object> _commands = [];

    public RecordingAgents(bool acknowledge, Func<IActorRef> appRegion, Func<SubtaskDeployment, bool> succeeds)
    {
        var on = acknowledge;
        Receive<SetAcknowledge>(set => { on = set.On; });
        Receive<PublishDeployments>(publish =>
        {
            _deployments.AddRange(publish.Deployments);
            _commands.AddRange(publish.Deployments);
            Sender.Tell(new DeploymentsPublished(publish.AppId, publish.DeploymentId));
            if (!on) return;
            foreach (var d in publish.Deployments)
                appRegion().Tell(new AppSchedulingCommands.AcknowledgeDeployment(d.AppId, d.DeploymentId, d.SubtaskId, d.NodeId, succeeds(d),
                    succeeds(d) ? null : "image pull failed"));
        });
        Receive<PublishRemovals>(remove =>
        {
            _removals.AddRange(remove.Removals);
            _commands.AddRange(remove.Removals);
        });
        Receive<PublishSwitches>(publish =>
        {
            _commands.AddRange(publish.Switches);
            if (!on) return;
            foreach (var s in publish.Switches)
                appRegion().Tell(new AppSchedulingCommands.AcknowledgeDeployment(s.AppId, s.MigrationId, s.SubtaskId, s.NodeId, true, null)
                {
                    Command = AgentCommandKinds.SwitchTraffic,
                });
        });
        Receive<GetRecorded>(_ => Sender.Tell(new Recorded([.. _deployments], [.. _removals]) { Commands = [.. _commands] }));
    }
}

/// <summary>
/// The host's own Akka wiring (sharded NodeActors and AppActors, directories, topology, scheduler) on a
/// SQLite journal, with <see cref="RecordingAgents"/> as the outbox. Restartable on the same database.
/// </summary>
public sealed class SchedulingHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly IHost _host;

    private SchedulingHarness(IHost host) => _host = host;

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public IActorRef Nodes => _host.Services.GetRequiredService<IRequiredActor<NodeRegion>>().ActorRef;

    public IActorRef Apps => _host.Services.GetRequiredService<IRequiredActor<AppRegion>>().ActorRef;

    public IActorRef Agents => _host.Services.GetRequiredService<IRequiredActor<AgentOutboxKey>>().ActorRef;

    public IActorRef NodeDirectory => _host.Services.GetRequiredService<IRequiredActor<NodeDirectory>>().ActorRef;

    public IActorRef Topology => _host.Services.GetRequiredService<IRequiredActor<TopologyKey>>().ActorRef;

    public IActorRef Rescheduler => _host.Services.GetRequiredService<IRequiredActor<ReschedulerKey>>().ActorRef;

    public async Task<RecordingAgents.Recorded> RecordedAsync() => await Agents.Ask<RecordingAgents.Recorded>(new RecordingAgents.GetRecorded(), Timeout);

    public static async Task<SchedulingHarness> StartAsync(string dataDir, bool acknowledge = true, SchedulerSettings? scheduler = null,
        AppSchedulingSettings? apps = null, Func<SubtaskDeployment, bool>? succeeds = null, ReschedulerSettings? rescheduler = null,
        Props? appDirectory = null)
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, dataDir);
        var cluster = new ClusterNodeOptions { Shards = 10 };
        IActorRegistry? registry = null;
        var systemName = $"scheduling-{Guid.NewGuid():N}";
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(systemName, (akka, _) =>
                akka.ConfigureLoggers(loggers =>
                    {
                        loggers.LogLevel = Akka.Event.LogLevel.DebugLevel;
                        loggers.ClearLoggers();
                        loggers.AddLogger<AkkaLogCapture>();
                    })
                    .WithComputeNetSerialization()
                    .WithComputeNetPersistence(db)
                    .WithComputeNetCluster(cluster)
                    .WithComputeNetNodes(cluster, new NodeActorSettings())
                    .WithComputeNetTopology(new ComputeNet.Actors.Topology.TopologyActorSettings())
                    .WithComputeNetDirectories(new ForecastOptions())
                    .WithActors((system, r) =>
                    {
                        registry = r;
                        // A stand-in for the journal-fed app directory (e.g. one that lags it without end).
                        if (appDirectory is not null) r.Register<AppDirectory>(system.ActorOf(appDirectory, "app-directory-stand-in"), overwrite: true);
                    })
                    .WithComputeNetScheduling(scheduler ?? new SchedulerSettings(FleetRefreshInterval: TimeSpan.FromMilliseconds(200)),
                        _ => Props.Create(() => new RecordingAgents(acknowledge, () => registry!.Get<AppRegion>(), succeeds ?? (_ => true))))
                    .WithComputeNetApps(cluster, AppActorSettings.Default, apps ?? new AppSchedulingSettings())
                    .WithRescheduler(rescheduler)))
            .Build();
        await host.StartAsync();
        var harness = new SchedulingHarness(host);
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(harness.System).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(Timeout);
        return harness;
    }

    public static NodeSpec Node(string nodeId, NodeTier tier = NodeTier.Edge, double cpuCores = 8, double memoryGb = 32, string region = "cn-east") =>
        new(nodeId, region, tier, cpuCores, memoryGb, 500, 2, 0.999, 60, 250, 3000, new Dictionary<string, string>());

    /// <summary>Registers the nodes and waits until the directory (which the scheduler reads) lists them all.</summary>
    public async Task RegisterAsync(IEnumerable<NodeSpec> nodes)
    {
        var list = nodes.ToList();
        await Task.WhenAll(list.Select(n => Nodes.Ask<NodeReplies.RegistrationAccepted>(new NodeCommands.RegisterNode(n), Timeout)));
        await TestSupport.Eventually.TrueAsync(() =>
            NodeDirectory.Ask<NodeDirectoryProtocol.NodeList>(new NodeDirectoryProtocol.ListNodes(), Timeout).Result.Nodes.Count >= list.Count);
    }

    public async Task<AppSchedulingReplies.AppPlanView> PlanOf(string appId) =>
        await Apps.Ask<AppSchedulingReplies.AppPlanView>(new AppSchedulingCommands.GetAppPlan(appId), Timeout);

    /// <summary>Waits until the app reaches one of <paramref name="lifecycles"/>.</summary>
    public async Task<AppSchedulingReplies.AppPlanView> WaitFor(string appId, int seconds, params AppLifecycle[] lifecycles) =>
        await TestSupport.Eventually.GetAsync(async () =>
        {
            var plan = await PlanOf(appId);
            return lifecycles.Contains(plan.Lifecycle) ? plan : null;
        }, seconds);

    /// <summary>Every persisted event of one entity, in order, read back from the journal.</summary>
    public async Task<IReadOnlyList<object>> EventsOf(string persistenceId)
    {
        var journal = PersistenceQuery.Get(System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var envelopes = await journal.CurrentEventsByPersistenceId(persistenceId, 0, long.MaxValue)
            .RunWith(Akka.Streams.Dsl.Sink.Seq<EventEnvelope>(), System.Materializer());
        return [.. envelopes.Select(e => e.Event)];
    }

    public async ValueTask DisposeAsync()
    {
        var systemName = System.Name;
        await _host.StopAsync();
        _host.Dispose();
        await AkkaLogCapture.FlushAsync(systemName);
    }
}

internal static class HarnessAdjustment
{
    /// <summary>The host's rescheduler singleton, when a test asks for runtime adjustment.</summary>
    public static Akka.Hosting.AkkaConfigurationBuilder WithRescheduler(this Akka.Hosting.AkkaConfigurationBuilder builder, ReschedulerSettings? settings) =>
        settings is null ? builder : builder.WithComputeNetAdjustment(settings);
}
