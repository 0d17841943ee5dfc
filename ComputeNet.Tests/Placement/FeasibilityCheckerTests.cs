using NodeTier = ComputeNet.Actors.Model.NodeTier;
using ComputeNet.Actors.Placement;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement;

/// <summary>
/// Known answers: a plan that breaks exactly one constraint is reported as that constraint, both by
/// whole-plan validation and by the incremental check of its last placement.
/// </summary>
public sealed class FeasibilityCheckerTests
{
    // Three nodes in a line, A —5 ms— B —5 ms— C, 100 Mbps links; the user attaches at A.
    private static PlacementProblem Line(IReadOnlyList<Subtask> subtasks, IReadOnlyList<SubtaskEdge>? edges = null, Func<NodeSpec, NodeSpec>? tweakB = null)
    {
        NodeSpec Node(string id, NodeTier tier) =>
            new(id, tier, tier == NodeTier.Cloud ? "north" : "south", new Resources(8, 32, 100, 0), 1000, 0.99, 50, 150);
        var b = Node("B", NodeTier.Edge);
        NodeSpec[] nodes = [Node("A", NodeTier.Device), tweakB?.Invoke(b) ?? b, Node("C", NodeTier.Cloud)];
        var network = new Network(3, [new LinkSpec(0, 1, 100, 5), new LinkSpec(1, 2, 100, 5)]);
        return new PlacementProblem(nodes, network, subtasks, edges ?? [], [0]);
    }

    private static Subtask Small(string id) => new(id, new Resources(1, 1, 1, 0));

    private static void ShouldBreakOnly(PlacementProblem problem, int[] assignment, ConstraintKind expected)
    {
        var violations = FeasibilityChecker.Default.Validate(problem, assignment);
        violations.Select(v => v.Constraint).Distinct().ShouldBe([expected]);
        if (expected == ConstraintKind.Unplaced) return;
        var last = Array.FindLastIndex(assignment, v => v >= 0);
        var plan = new PartialPlan(problem);
        for (var k = 0; k < last; k++) plan.Assign(k, assignment[k]);
        FeasibilityChecker.Default.Check(problem, plan, last, assignment[last]).ShouldBe(expected);
    }

    [Fact]
    public void A_feasible_plan_has_no_violations()
    {
        var problem = Line([Small("a"), Small("b")], [new SubtaskEdge(0, 1) { DataPerRequestMb = 1, DataRateMbps = 10, TransferDelayThresholdMs = 50 }]);
        FeasibilityChecker.Default.Validate(problem, [0, 2]).ShouldBeEmpty();
    }

    [Fact]
    public void A_node_smaller_than_the_demand_breaks_node_capability()
    {
        ShouldBreakOnly(Line([new Subtask("big", new Resources(16, 1, 1, 0))]), [1], ConstraintKind.NodeCapability);
    }

    [Fact]
    public void A_node_less_reliable_than_the_threshold_breaks_reliability()
    {
        ShouldBreakOnly(Line([Small("a") with { ReliabilityThreshold = 0.995 }]), [1], ConstraintKind.Reliability);
    }

    [Fact]
    public void Two_subtasks_that_together_overflow_a_node_break_capacity()
    {
        ShouldBreakOnly(Line([new Subtask("a", new Resources(5, 1, 1, 0)), new Subtask("b", new Resources(5, 1, 1, 0))]), [1, 1], ConstraintKind.Capacity);
    }

    [Fact]
    public void Capacity_counts_used_capacity_and_the_forecast()
    {
        // 8 cores, 2 used, but the forecast says only 3 will be free: a 4-core subtask does not fit.
        var problem = Line([new Subtask("a", new Resources(4, 1, 1, 0))],
            tweakB: b => b with { Used = new Resources(2, 0, 0, 0), ForecastAvailable = new Resources(3, 32, 100, 0) });
        ShouldBreakOnly(problem, [1], ConstraintKind.Capacity);
        FeasibilityChecker.Default.Validate(problem, [0]).ShouldBeEmpty();
    }

    [Fact]
    public void Slow_execution_breaks_execution_time()
    {
        // 1,000 MI on one 1,000 MIPS core = 1,000 ms.
        ShouldBreakOnly(Line([Small("a") with { WorkMi = 1000, ExecutionTimeThresholdMs = 100 }]), [1], ConstraintKind.ExecutionTime);
        FeasibilityChecker.ExecutionTimeMs(Small("a") with { WorkMi = 1000 }, Line([]).Nodes[0]).ShouldBe(1000, 1e-9);
    }

    [Fact]
    public void Latency_plus_size_over_bandwidth_beyond_the_threshold_breaks_transfer_delay()
    {
        // A→C: 10 ms of path + 1 Mb / 100 Mbps = 20 ms > 15 ms; co-located it costs nothing.
        var problem = Line([Small("a"), Small("b")], [new SubtaskEdge(0, 1) { DataPerRequestMb = 1, TransferDelayThresholdMs = 15 }]);
        FeasibilityChecker.TransferDelayMs(problem, problem.Edges[0], 0, 2).ShouldBe(20, 1e-5);
        ShouldBreakOnly(problem, [0, 2], ConstraintKind.TransferDelay);
        FeasibilityChecker.Default.Validate(problem, [2, 2]).ShouldBeEmpty();
    }

    [Fact]
    public void Data_rates_summed_over_a_link_beyond_its_bandwidth_break_link_bandwidth()
    {
        var problem = Line([Small("a"), Small("b"), Small("c")],
        [
            new SubtaskEdge(0, 1) { DataRateMbps = 60 },
            new SubtaskEdge(0, 2) { DataRateMbps = 60 },
        ]);
        ShouldBreakOnly(problem, [0, 1, 1], ConstraintKind.LinkBandwidth);
        FeasibilityChecker.Default.Validate(problem, [0, 1, 0]).ShouldBeEmpty();
    }

    [Fact]
    public void A_route_below_the_bandwidth_floor_breaks_link_bandwidth()
    {
        var problem = Line([Small("a"), Small("b")], [new SubtaskEdge(0, 1) { BandwidthFloorMbps = 500 }]);
        ShouldBreakOnly(problem, [0, 1], ConstraintKind.LinkBandwidth);
    }

    [Fact]
    public void User_edges_route_from_the_access_node()
    {
        var problem = Line([Small("a")], [new SubtaskEdge(SubtaskEdge.User, 0) { DataPerRequestMb = 0.1, TransferDelayThresholdMs = 6 }]);
        ShouldBreakOnly(problem, [2], ConstraintKind.TransferDelay);
        FeasibilityChecker.Default.Validate(problem, [1]).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("node")]
    [InlineData("region")]
    [InlineData("tier")]
    [InlineData("user")]
    public void Placing_off_the_pinned_place_breaks_pinning(string kind)
    {
        var pinning = kind switch
        {
            "node" => new Pinning { NodeId = "B" },
            "region" => new Pinning { Region = "north" },
            "tier" => new Pinning { Tier = NodeTier.Cloud },
            _ => new Pinning { AtUserAccessNode = true },
        };
        var problem = Line([Small("a") with { Pinning = pinning }]);
        ShouldBreakOnly(problem, [kind == "node" ? 0 : 1], ConstraintKind.Pinning);
    }

    [Fact]
    public void Anti_affine_subtasks_on_one_node_break_anti_affinity()
    {
        ShouldBreakOnly(Line([Small("a") with { AntiAffinityGroup = "g" }, Small("b") with { AntiAffinityGroup = "g" }]), [1, 1], ConstraintKind.AntiAffinity);
    }

    [Fact]
    public void Colocated_subtasks_on_two_nodes_break_colocation()
    {
        ShouldBreakOnly(Line([Small("a") with { ColocationGroup = "g" }, Small("b") with { ColocationGroup = "g" }]), [1, 2], ConstraintKind.Colocation);
    }

    [Fact]
    public void A_subtask_without_a_node_is_unplaced()
    {
        ShouldBreakOnly(Line([Small("a"), Small("b")]), [1, -1], ConstraintKind.Unplaced);
    }

    [Fact]
    public void The_feasibility_mask_agrees_with_the_incremental_check()
    {
        var problem = Line([Small("a") with { Pinning = new Pinning { Tier = NodeTier.Edge } }]);
        var plan = new PartialPlan(problem);
        FeasibilityChecker.Default.FeasibleMask(problem, plan, 0).ShouldBe([false, true, false]);
        FeasibilityChecker.Default.FeasibleNodes(problem, plan, 0).ShouldBe([1]);
    }

    [Fact]
    public void Shortest_latency_routing_and_bottleneck_bandwidth()
    {
        var network = new Network(4, [new LinkSpec(0, 1, 1000, 1), new LinkSpec(1, 3, 50, 1), new LinkSpec(0, 2, 1000, 5), new LinkSpec(2, 3, 1000, 5)]);
        network.LatencyMs(0, 3).ShouldBe(2, 1e-5);
        network.BottleneckMbps(0, 3).ShouldBe(50);
        network.PathLinks(3, 0).Length.ShouldBe(2);
        network.NearestNodes(0, 2).ShouldBe([0, 1]);
    }

    [Fact]
    public void Objective_counts_idle_power_once_when_an_empty_node_is_switched_on()
    {
        var problem = Line([new Subtask("a", new Resources(4, 1, 1, 0)), new Subtask("b", new Resources(4, 1, 1, 0))]);
        var objective = new PlacementObjective(problem);
        // Both on B: idle 50 W once + (150 − 50) W × 8/8 cores.
        objective.Evaluate([1, 1]).EnergyW.ShouldBe(150, 1e-9);
        // Split: two idle charges + the same dynamic power.
        objective.Evaluate([1, 2]).EnergyW.ShouldBe(200, 1e-9);
    }
}
