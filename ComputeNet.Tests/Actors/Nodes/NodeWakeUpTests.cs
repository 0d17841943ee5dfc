using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Nodes.NodeEvents;

namespace ComputeNet.Tests.Actors.Nodes;

public sealed class NodeWakeUpTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch.AddYears(56);

    private static NodeRegistered Registered(string id) =>
        new(new NodeSpec(id, "r", NodeTier.Edge, 4, 8, 100, 0, 0.99, 50, 200, NodeSpec.DefaultCpuMipsPerCore, new Dictionary<string, string>()),
            new AgentCredentials($"agent-{id}", "t", 5000), At);

    [Fact]
    public void Only_nodes_whose_last_health_event_is_up_and_that_are_still_registered_are_woken()
    {
        object[] events =
        [
            Registered("a"), Registered("b"), Registered("c"), Registered("d"), Registered("e"),
            new NodeCameUp("a", At),
            new NodeCameUp("b", At), new NodeWentDown("b", "silent", At),
            new NodeCameUp("c", At), new NodeDeregistered("c", At),
            // d never reported: nothing to time out.
            new NodeCameUp("e", At), new NodeWentDown("e", "silent", At), new NodeCameUp("e", At),
        ];

        NodeWakeUp.NodesLastSeenUp(events).ShouldBe(["a", "e"]);
    }

    [Fact]
    public void A_re_registration_forgets_the_previous_agents_health()
    {
        object[] events = [Registered("a"), new NodeCameUp("a", At), new NodeDeregistered("a", At), Registered("a")];

        NodeWakeUp.NodesLastSeenUp(events).ShouldBeEmpty();
    }
}
