using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using ComputeNet.Actors.Persistence;
using ComputeNet.Streams.Events;
using ComputeNet.Streams.Kafka;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Publishes persisted drift and adjustment events on the events topic for the life of the cluster, from whichever
/// member holds each publisher's singleton (see <see cref="DriftEventPublisher"/>).
/// </summary>
public sealed class DriftEventService(ActorSystem system, KafkaEndpoint kafka, ComputeNetOptions options, ILogger<DriftEventService> log) : IHostedService
{
    private KafkaPublisher? _publisher;
    private IActorRef? _actor;
    private IActorRef? _adjustments;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var readJournal = Akka.Persistence.Query.PersistenceQuery.Get(system)
            .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
        _publisher = new KafkaPublisher(new ProducerSettings(kafka.Connection) { ClientId = "computenet-events" });
        // One publisher per tag and cluster (singletons): each persists its offset under one id, and each event goes out once.
        _actor = Singleton(DriftEventPublisher.Props(readJournal, _publisher, options.Kafka.Topics.Events), DriftEventPublisher.Id);
        _adjustments = Singleton(DriftEventPublisher.Props(readJournal, _publisher, options.Kafka.Topics.Events, EventTags.Adjustment,
            DriftEventPublisher.AdjustmentId), DriftEventPublisher.AdjustmentId);
        log.LogInformation("Publishing drift and adjustment events on {Topic}", options.Kafka.Topics.Events);
        return Task.CompletedTask;
    }

    private IActorRef Singleton(Props props, string name) =>
        system.ActorOf(ClusterSingletonManager.Props(props, PersistentTagFollower.StopAfterCheckpoint.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole(AkkaSetup.SingletonOptions.Role)), name);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(new[] { _actor, _adjustments }.OfType<IActorRef>().Select(StopPublisherAsync));
        _publisher?.Dispose();
    }

    /// <summary>
    /// Lets the singleton (when this member runs it) finish saving its offset before the manager goes: stopping the
    /// manager alone kills it at once, and a restart would publish its last events a second time.
    /// </summary>
    private async Task StopPublisherAsync(IActorRef manager)
    {
        try
        {
            var singleton = await system.ActorSelection(manager.Path / "singleton").ResolveOne(TimeSpan.FromSeconds(1));
            await singleton.GracefulStop(TimeSpan.FromSeconds(5), PersistentTagFollower.StopAfterCheckpoint.Instance);
        }
        catch (Exception e) when (e is ActorNotFoundException or TaskCanceledException or AskTimeoutException)
        {
            // Not running here, or already gone.
        }
        await manager.GracefulStop(TimeSpan.FromSeconds(5));
    }
}
