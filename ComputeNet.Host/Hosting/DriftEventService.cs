using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using ComputeNet.Streams.Events;
using ComputeNet.Streams.Kafka;

namespace ComputeNet.Host.Hosting;

/// <summary>Publishes persisted drift events on the events topic for the life of the cluster, from whichever member holds the singleton (see <see cref="DriftEventPublisher"/>).</summary>
public sealed class DriftEventService(ActorSystem system, KafkaEndpoint kafka, ComputeNetOptions options, ILogger<DriftEventService> log) : IHostedService
{
    private KafkaPublisher? _publisher;
    private IActorRef? _actor;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var readJournal = Akka.Persistence.Query.PersistenceQuery.Get(system)
            .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
        _publisher = new KafkaPublisher(new ProducerSettings(kafka.Connection) { ClientId = "computenet-events" });
        // One publisher per cluster (a singleton): it persists its offset under one id, and each event goes out once.
        _actor = system.ActorOf(ClusterSingletonManager.Props(DriftEventPublisher.Props(readJournal, _publisher, options.Kafka.Topics.Events),
            PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system).WithRole(AkkaSetup.SingletonOptions.Role)), DriftEventPublisher.Id);
        log.LogInformation("Publishing drift events on {Topic}", options.Kafka.Topics.Events);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_actor is not null) await _actor.GracefulStop(TimeSpan.FromSeconds(5));
        _publisher?.Dispose();
    }
}
