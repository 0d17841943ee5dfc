using Akka.Actor;
using Akka.Event;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Registration;
using static ComputeNet.Actors.Scheduling.DeploymentProtocol;

namespace ComputeNet.Streams.Deployment;

/// <summary>
/// Publishes the apps' deploy, switch-traffic and stop commands on computenet.agent-commands (key: node id), so the
/// actors never touch Kafka. A deployment is reported published only when the broker has every command.
/// </summary>
public sealed class AgentCommandOutbox : ReceiveActor
{
    public AgentCommandOutbox(KafkaPublisher publisher, TopicNames topics)
    {
        var log = Context.GetLogger();
        Receive<PublishDeployments>(publish =>
        {
            Task.WhenAll(publish.Deployments.Select(d =>
                    publisher.PublishAsync(topics.AgentCommands, d.NodeId, DeploySubtask.For(d, topics).ToJsonBytes())))
                .PipeTo(Sender,
                    success: _ => new DeploymentsPublished(publish.AppId, publish.DeploymentId),
                    failure: e => new DeploymentsNotPublished(publish.AppId, publish.DeploymentId, e.Message));
        });
        Receive<PublishRemovals>(remove =>
        {
            Task.WhenAll(remove.Removals.Select(r =>
                    publisher.PublishAsync(topics.AgentCommands, r.NodeId, StopSubtask.For(r, topics).ToJsonBytes())))
                .ContinueWith(t => log.Warning(t.Exception, "Stop commands of app {0} were not published", remove.AppId),
                    TaskContinuationOptions.OnlyOnFaulted);
        });
        Receive<PublishSwitches>(switches =>
        {
            Task.WhenAll(switches.Switches.Select(s =>
                    publisher.PublishAsync(topics.AgentCommands, s.NodeId, SwitchTraffic.For(s, topics).ToJsonBytes())))
                .ContinueWith(t => log.Warning(t.Exception, "Switch commands of migration {0} were not published", switches.MigrationId),
                    TaskContinuationOptions.OnlyOnFaulted);
        });
    }

    public static Props Props(KafkaPublisher publisher, TopicNames topics) => Akka.Actor.Props.Create(() => new AgentCommandOutbox(publisher, topics));
}
