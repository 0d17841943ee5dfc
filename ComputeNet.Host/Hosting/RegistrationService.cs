using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Registration;

namespace ComputeNet.Host.Hosting;

/// <summary>Runs the registration pipeline for the life of the host; a thin shell around <see cref="RegistrationPipeline"/>.</summary>
public sealed class RegistrationService(
    ActorSystem system,
    IRequiredActor<NodeRegion> nodeRegion,
    KafkaEndpoint kafka,
    ComputeNetOptions options,
    ILogger<RegistrationService> log) : IHostedService
{
    private KafkaPublisher? _publisher;
    private UniqueKillSwitch? _killSwitch;
    private Task _completion = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var region = await nodeRegion.GetAsync(cancellationToken);
        _publisher = new KafkaPublisher(new ProducerSettings(kafka.Connection) { ClientId = "computenet-registration" });
        var handler = new RegistrationHandler(region, _publisher,
            new RegistrationSettings(options.Kafka.Topics, options.Registration.MaxRecordBytes, TimeSpan.FromSeconds(10)),
            TimeProvider.System);
        var consumer = new ConsumerSettings(kafka.Connection, options.Kafka.GroupId + "-registrations") { ClientId = "computenet-registration" };

        (_killSwitch, _completion) = RegistrationPipeline.Run(system.Materializer(), consumer, options.Kafka.Topics.Registrations, handler);
        log.LogInformation("Consuming registrations from {Topic} at {Kafka}", options.Kafka.Topics.Registrations, kafka.BootstrapServers);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _killSwitch?.Shutdown();
        await Task.WhenAny(_completion, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        _publisher?.Dispose();
    }
}
