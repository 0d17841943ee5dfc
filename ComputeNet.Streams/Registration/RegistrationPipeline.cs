using Akka.Streams;
using ComputeNet.Streams.Kafka;

namespace ComputeNet.Streams.Registration;

/// <summary>computenet.registrations → validate → NodeActor → agent command or dead letter → commit (see <see cref="CommittingPipeline"/>).</summary>
public static class RegistrationPipeline
{
    public static (UniqueKillSwitch KillSwitch, Task Completion) Run(
        IMaterializer materializer, ConsumerSettings consumer, string topic, RegistrationHandler handler, int parallelism = 8) =>
        CommittingPipeline.Run(materializer, consumer, topic, handler.HandleAsync, parallelism);
}
