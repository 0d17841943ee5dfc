using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Streams;
using ComputeNet.Streams.Deployment;
using ComputeNet.Streams.Kafka;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Deployment through the agents (任务部署): consumes their acks from computenet.agent-acks for the life of the
/// host; also builds the scheduler's and the apps' settings and the outbox that publishes deploy commands.
/// </summary>
public sealed class DeploymentService(
    ActorSystem system,
    IRequiredActor<NodeRegion> nodeRegion,
    IRequiredActor<AppRegion> appRegion,
    KafkaEndpoint kafka,
    ComputeNetOptions options,
    ILogger<DeploymentService> log) : IHostedService
{
    private KafkaPublisher? _publisher;
    private UniqueKillSwitch? _killSwitch;
    private Task _completion = Task.CompletedTask;

    public static SchedulerSettings SchedulerSettings(ComputeNetOptions options) =>
        new(options.Scheduling.Policy, TimeSpan.FromMilliseconds(options.Scheduling.ReservationTtlMs), options.Scheduling.MaxPlanningRounds,
            TimeSpan.FromMilliseconds(options.Scheduling.FleetRefreshMs));

    public static AppSchedulingSettings AppSettings(ComputeNetOptions options) =>
        new(TimeSpan.FromMilliseconds(options.Scheduling.AckTimeoutMs), options.Scheduling.MaxReplacements);

    /// <summary>The outbox owns its producer for the life of the actor system.</summary>
    public static Props OutboxProps(ActorSystem system, KafkaEndpoint kafka, TopicNames topics)
    {
        var publisher = new KafkaPublisher(new ProducerSettings(kafka.Connection) { ClientId = "computenet-deployment" });
        system.RegisterOnTermination(publisher.Dispose);
        return AgentCommandOutbox.Props(publisher, topics);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var nodes = await nodeRegion.GetAsync(cancellationToken);
        var apps = await appRegion.GetAsync(cancellationToken);
        _publisher = new KafkaPublisher(new ProducerSettings(kafka.Connection) { ClientId = "computenet-agent-acks" });
        var handler = new AgentAckHandler(nodes, apps, _publisher, options.Kafka.Topics, TimeSpan.FromSeconds(15), TimeProvider.System);
        var consumer = new ConsumerSettings(kafka.Connection, options.Kafka.GroupId + "-agent-acks") { ClientId = "computenet-agent-acks" };
        (_killSwitch, _completion) = CommittingPipeline.Run(system.Materializer(), consumer, options.Kafka.Topics.AgentAcks, handler.HandleAsync);
        log.LogInformation("Consuming agent acks from {Topic}", options.Kafka.Topics.AgentAcks);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _killSwitch?.Shutdown();
        // On SIGTERM the actor system (and with it the stream) may already be gone: then there is nothing to wait for.
        await Task.WhenAny(_completion, system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        _publisher?.Dispose();
    }
}
