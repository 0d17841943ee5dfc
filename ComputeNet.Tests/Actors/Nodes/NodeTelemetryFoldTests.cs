using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Tests.Actors.Persistence;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Nodes;

public sealed class NodeTelemetryFoldTests
{
    private static NodeUsageSample Sample(long seq, double cpu = 2) => new(seq, 1_795_000_000_000 + seq, cpu, 8, 50, 0, 100, true);

    [Fact]
    public void Applied_seq_is_idempotent_and_reordered_samples_change_nothing()
    {
        var spec = SerializerTests.Spec; // 8 cores
        var first = NodeTelemetryFold.Apply(NodeTelemetryState.Empty, spec, "t", "t", [Sample(1), Sample(2), Sample(3)], 0.1, 10);
        first.Applied.ShouldBe(3);
        first.State.HighestSeq.ShouldBe(3);

        var replay = NodeTelemetryFold.Apply(first.State, spec, "t", "t", [Sample(2), Sample(3), Sample(4), Sample(3)], 0.1, 10);
        replay.Applied.ShouldBe(1);
        replay.Duplicates.ShouldBe(3);
        replay.State.AppliedSamples.ShouldBe(4);
        replay.State.Latest!.Seq.ShouldBe(4);
    }

    [Fact]
    public void Wrong_token_rejects_the_window_and_over_capacity_rejects_the_sample()
    {
        var spec = SerializerTests.Spec;
        var wrong = NodeTelemetryFold.Apply(NodeTelemetryState.Empty, spec, "t", "forged", [Sample(1), Sample(2)], 0.1, 10);
        wrong.Applied.ShouldBe(0);
        wrong.Rejections.Select(r => r.Index).ShouldBe([0, 1]);
        wrong.Rejections[0].Reason.ShouldContain("agentToken does not match the token provisioned for node 'edge-1'");

        var over = NodeTelemetryFold.Apply(NodeTelemetryState.Empty, spec, "t", "t", [Sample(1, cpu: 8.5), Sample(2, cpu: 9)], 0.1, 10);
        over.Applied.ShouldBe(1);
        over.Rejections.Single().Reason.ShouldContain("'cpuUsedCores' = 9 cores exceeds the node's cpuCores of 8 cores by more than 10");
    }

    [Fact]
    public void History_is_bounded()
    {
        var state = NodeTelemetryState.Empty;
        for (var i = 0; i < 25; i++)
            state = NodeTelemetryFold.Apply(state, SerializerTests.Spec, "t", "t", [Sample(i)], 0.1, 10).State;
        state.History.Count.ShouldBe(10);
        state.History[^1].FromMs.ShouldBe(1_795_000_000_024);
    }
}
