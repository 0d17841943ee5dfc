using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Scheduling;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Scheduling;

/// <summary>The rescheduler's pure step on a live-shaped fleet: forecast-aware triggers and the commands it yields.</summary>
public sealed class AdjustmentPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private static readonly AppSpec Spec = new()
    {
        Name = "fc",
        Kind = AppKind.Complex,
        AccessPoints = ["edge-0"],
        Components =
        [
            new ComponentSpec
            {
                Id = "front", Image = "computenet/front:1", CpuCores = 1, MemoryGb = 1, StorageGb = 1, ReliabilityThreshold = 0.9,
                AntiAffinityGroup = "split", Pinning = ComputeNet.Actors.Model.Apps.Pinning.ToAccessNode(),
            },
            new ComponentSpec { Id = "worker", Image = "computenet/worker:1", CpuCores = 2, MemoryGb = 2, StorageGb = 1, ReliabilityThreshold = 0.9, AntiAffinityGroup = "split" },
        ],
    };

    private static (AdjustmentInput Input, string Worker) RunningOnEdge1(IReadOnlyList<NodeOutlook> forecasts)
    {
        var decomposition = MultiGranularityDecomposer.Decompose(Spec, NodeClassCatalog.Default);
        var cut = decomposition.Granularities.First(g => g.IsFeasible);
        var front = cut.Subtasks.Single(s => s.Pinning.Kind == PinningKind.AccessNode);
        var worker = cut.Subtasks.Single(s => s.Id != front.Id);
        var decision = new PlacementDecision(cut.Granularity, "greedy-objective", new ObjectiveBreakdown(0, 0, 0, 0),
        [
            new SubtaskPlacement(front.Id, "edge-0", SchedulingPlanner.DemandOf(front), []),
            new SubtaskPlacement(worker.Id, "edge-1", SchedulingPlanner.DemandOf(worker), []),
        ], 1);
        var nodes = Enumerable.Range(0, 3).Select(i =>
        {
            var spec = SchedulingHarness.Node($"edge-{i}");
            var held = decision.Subtasks.Where(s => s.NodeId == spec.NodeId).Aggregate(Resources.Zero, (sum, s) => sum + s.Demand);
            return new LiveNode(spec, true, SchedulingPlanner.CapacityOf(spec) - held);
        }).ToList();
        return (new AdjustmentInput(nodes, [], [new RunningAppView("app-fc", Spec, decomposition, decision, Degraded: false)], forecasts, []), worker.Id);
    }

    [Fact]
    public void A_node_forecast_to_lose_the_compute_its_subtask_needs_moves_the_subtask_before_it_breaks()
    {
        var (input, worker) = RunningOnEdge1([new NodeOutlook("edge-1", CpuAvailableCores: 1.0, MemoryAvailableGb: null)]);
        var round = AdjustmentPlanner.Plan(input, "periodic check", new StabilityPolicy(StabilityOptions.None), new AdjustmentOptions(), Now);

        var adjust = round.Adjustments.ShouldHaveSingleItem();
        adjust.Reason.ShouldContain("forecast");
        var move = adjust.Moves.ShouldHaveSingleItem();
        (move.SubtaskId, move.FromNodeId, move.ToNodeId).ShouldBe((worker, "edge-1", "edge-2"));
        adjust.NewDecision.For(worker)!.NodeId.ShouldBe("edge-2");
        round.Degradations.ShouldBeEmpty();
    }

    [Fact]
    public void A_forecast_that_still_leaves_room_moves_nothing()
    {
        var (input, _) = RunningOnEdge1([new NodeOutlook("edge-1", CpuAvailableCores: 6.0, MemoryAvailableGb: 20)]);
        var round = AdjustmentPlanner.Plan(input, "periodic check", new StabilityPolicy(StabilityOptions.None), new AdjustmentOptions(), Now);

        round.Adjustments.ShouldBeEmpty();
        round.Degradations.ShouldBeEmpty();
    }

    [Fact]
    public void A_node_gone_from_the_directory_is_a_dead_node_whose_subtasks_must_move()
    {
        var (input, worker) = RunningOnEdge1([]);
        var withoutEdge1 = input with { Nodes = [.. input.Nodes.Where(n => n.Spec.NodeId != "edge-1")] };
        var round = AdjustmentPlanner.Plan(withoutEdge1, "node-deregistered edge-1", new StabilityPolicy(), new AdjustmentOptions(), Now);

        var move = round.Adjustments.ShouldHaveSingleItem().Moves.ShouldHaveSingleItem();
        (move.SubtaskId, move.FromNodeId, move.ToNodeId).ShouldBe((worker, "edge-1", "edge-2"));
    }
}
