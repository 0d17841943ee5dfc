using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using ComputeNet.Actors.Nodes;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Streams.Kafka;
using static ComputeNet.Actors.Nodes.NodeReplies;

namespace ComputeNet.Streams.Registration;

public sealed record RegistrationSettings(TopicNames Topics, int MaxRecordBytes, TimeSpan AskTimeout);

/// <summary>
/// The effect of one registration record: validate it, have the node's actor persist it, then
/// provision (or retire) the node's agent — or dead-letter the record with the reason. The returned
/// task completes only when the effect is durable, so the caller may commit the offset.
/// </summary>
public sealed class RegistrationHandler(IActorRef nodeRegion, KafkaPublisher publisher, RegistrationSettings settings, TimeProvider clock)
{
    private static readonly ConcurrentDictionary<string, long> Outcomes = new();

    // Observed rather than pushed: prometheus-net's meter adapter exports observable instruments reliably here.
    private static readonly ObservableCounter<long> Processed = ComputeNetMeter.Instance.CreateObservableCounter("registrations_total",
        () => Outcomes.Select(o => new Measurement<long>(o.Value, new KeyValuePair<string, object?>("outcome", o.Key))),
        description: "registration records processed, by outcome");

    public async Task HandleAsync(CommittableMessage message)
    {
        var request = RegistrationParser.Parse(message.Key, message.Value ?? [], message.Value is null, settings.MaxRecordBytes);
        switch (request)
        {
            case RegistrationRequest.Register register:
                var accepted = await nodeRegion.Ask<RegistrationAccepted>(new NodeCommands.RegisterNode(register.Spec), settings.AskTimeout);
                await Publish(settings.Topics.AgentCommands, accepted.NodeId, ProvisionAgent.For(accepted.NodeId, accepted.Agent, settings.Topics).ToJsonBytes());
                Count(accepted.Outcome.ToString().ToLowerInvariant());
                break;

            case RegistrationRequest.Deregister deregister:
                var done = await nodeRegion.Ask<DeregistrationAccepted>(new NodeCommands.DeregisterNode(deregister.NodeId), settings.AskTimeout);
                if (done.WasRegistered) await Publish(settings.Topics.AgentCommands, done.NodeId, new RetireAgent(done.NodeId).ToJsonBytes());
                Count(done.WasRegistered ? "deregistered" : "deregister-unknown");
                break;

            case RegistrationRequest.Invalid invalid:
                        var letter = DeadLetterRecord.Create(invalid.Reason, message.Topic, message.Partition, message.Offset,
                    message.Key, message.Value, clock.GetUtcNow());
                await Publish(settings.Topics.DeadLetter, message.Key, letter.ToJsonBytes());
                Count("dead-lettered");
                DeadLetterMetrics.Add(message.Topic, invalid.Reason);
                break;
        }
    }

    private static void Count(string outcome) => Outcomes.AddOrUpdate(outcome, 1, (_, known) => known + 1);

    private Task Publish(string topic, string? key, byte[] value) => publisher.PublishAsync(topic, key, value);
}
