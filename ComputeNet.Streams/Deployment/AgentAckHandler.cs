using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Streams.Kafka;

namespace ComputeNet.Streams.Deployment;

/// <summary>
/// The effect of one agent ack: parse it, check the agent's token with its node, hand it to the app; a
/// malformed, forged or stale ack is dead-lettered with the reason. Completes when the effect is durable.
/// </summary>
public sealed class AgentAckHandler(IActorRef nodeRegion, IActorRef appRegion, KafkaPublisher publisher, TopicNames topics, TimeSpan askTimeout, TimeProvider clock)
{
    private static readonly ConcurrentDictionary<string, long> Outcomes = new();

    // Observed rather than pushed: prometheus-net's meter adapter exports observable instruments reliably here.
    private static readonly ObservableCounter<long> Processed = ComputeNetMeter.Instance.CreateObservableCounter("agent_acks_total",
        () => Outcomes.Select(o => new Measurement<long>(o.Value, new KeyValuePair<string, object?>("outcome", o.Key))),
        description: "agent deployment acks processed, by outcome");

    public async Task HandleAsync(CommittableMessage message)
    {
        var (ack, error) = AgentAckParser.Parse(message.Key, message.Value);
        if (ack is not null)
        {
            var auth = await nodeRegion.Ask<NodeReplies.AgentAuthentication>(new NodeCommands.AuthenticateAgent(ack.NodeId, ack.AgentToken), askTimeout);
            if (!auth.Accepted) error = auth.Reason;
        }
        if (ack is not null && error is null)
        {
            var recorded = await appRegion.Ask<AppSchedulingReplies.DeploymentAckRecorded>(
                new AppSchedulingCommands.AcknowledgeDeployment(ack.AppId, ack.DeploymentId, ack.SubtaskId, ack.NodeId, ack.Ok, ack.Reason)
                {
                    Command = ack.Command,
                }, askTimeout);
            if (!recorded.Outcome.StartsWith("ignored", StringComparison.Ordinal))
            {
                Count(recorded.Outcome);
                return;
            }
            error = recorded.Outcome;
        }

        var letter = DeadLetterRecord.Create(error!, message.Topic, message.Partition, message.Offset, message.Key, message.Value, clock.GetUtcNow());
        await publisher.PublishAsync(topics.DeadLetter, message.Key, letter.ToJsonBytes());
        Count("dead-lettered");
        DeadLetterMetrics.Add(message.Topic, error!);
    }

    private static void Count(string outcome) => Outcomes.AddOrUpdate(outcome, 1, (_, known) => known + 1);
}
