using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Nodes;
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

    /// <summary>
    /// The app runs its worker on edge-1; each node's ledger holds the app's subtasks there, and edge-1's agents report
    /// other work that leaves <paramref name="edge1Forecast"/> free (null = no telemetry yet). The live view is built the
    /// way the rescheduler builds it: from the ledgers' answers and the same forecast.
    /// </summary>
    private static (AdjustmentInput Input, string Worker, Resources Edge1Available) RunningOnEdge1(Resources? edge1Forecast)
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
            var ledger = NodeCapacityLedger.Empty
                .Reserve(new CapacityReservation("r", "app-fc", [.. decision.Subtasks.Where(s => s.NodeId == spec.NodeId).Select(s => new SubtaskDemand(s.SubtaskId, s.Demand))],
                    Now.AddMinutes(1)))
                .Commit("r");
            var forecast = spec.NodeId == "edge-1" ? edge1Forecast : null;
            return new LiveNode(spec, true, ledger.Available(SchedulingPlanner.CapacityOf(spec), forecast, Now), ledger.Committed);
        }).ToList();
        IReadOnlyList<NodeOutlook> outlooks = edge1Forecast is { } f ? [new NodeOutlook("edge-1", f)] : [];
        return (new AdjustmentInput(nodes, [], [new RunningAppView("app-fc", Spec, decomposition, decision, Degraded: false)], outlooks, []),
            worker.Id, nodes[1].Available);
    }

    private static Resources Edge1Free(double cores, double memoryGb = 32) => SchedulingPlanner.CapacityOf(SchedulingHarness.Node("edge-1")) with
    {
        CpuCores = cores, MemoryGb = memoryGb,
    };

    [Fact]
    public void A_node_forecast_to_lose_the_compute_its_subtask_needs_moves_the_subtask_before_it_breaks()
    {
        var (input, worker, _) = RunningOnEdge1(Edge1Free(cores: 1.0));
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
        var (input, _, _) = RunningOnEdge1(Edge1Free(cores: 6.0, memoryGb: 20));
        var round = AdjustmentPlanner.Plan(input, "periodic check", new StabilityPolicy(StabilityOptions.None), new AdjustmentOptions(), Now);

        round.Adjustments.ShouldBeEmpty();
        round.Degradations.ShouldBeEmpty();
    }

    /// <summary>
    /// One reading of node telemetry for reservations and runtime adjustment: reported use is the node's other work, so the
    /// forecast bounds everything ComputeNet holds there. The 2-core worker stays while the forecast leaves it room (the
    /// ledger still offers the rest) and moves exactly when the ledger has nothing left and its holdings exceed the forecast.
    /// </summary>
    [Theory]
    [InlineData(3.0, 1.0, false)]
    [InlineData(2.0, 0.0, false)]
    [InlineData(1.5, 0.0, true)]
    public void Reservations_and_adjustment_read_the_forecast_alike_as_what_the_nodes_other_work_leaves(double forecastFreeCores, double ledgerOffersCores, bool moves)
    {
        var (input, _, edge1) = RunningOnEdge1(Edge1Free(forecastFreeCores));
        edge1.CpuCores.ShouldBe(ledgerOffersCores, tolerance: 1e-9);

        var round = AdjustmentPlanner.Plan(input, "periodic check", new StabilityPolicy(StabilityOptions.None), new AdjustmentOptions(), Now);
        round.Adjustments.Count.ShouldBe(moves ? 1 : 0);
    }

    [Fact]
    public void A_node_gone_from_the_directory_is_a_dead_node_whose_subtasks_must_move()
    {
        var (input, worker, _) = RunningOnEdge1(null);
        var withoutEdge1 = input with { Nodes = [.. input.Nodes.Where(n => n.Spec.NodeId != "edge-1")] };
        var round = AdjustmentPlanner.Plan(withoutEdge1, "node-deregistered edge-1", new StabilityPolicy(), new AdjustmentOptions(), Now);

        var move = round.Adjustments.ShouldHaveSingleItem().Moves.ShouldHaveSingleItem();
        (move.SubtaskId, move.FromNodeId, move.ToNodeId).ShouldBe((worker, "edge-1", "edge-2"));
    }
}
