using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Generation;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;
using NodeSpec = ComputeNet.Actors.Placement.NodeSpec;
using NodeTier = ComputeNet.Actors.Model.NodeTier;

namespace ComputeNet.Tests.Placement;

/// <summary>
/// Runtime adjustment (运行调整), pure: impact analysis, minimal-disruption repair through the
/// running fleet, stability. The small hand-built fleet: a user device U, edge sites E1..E4 one hop
/// from it, a cloud C behind them.
/// </summary>
public sealed class RuntimeAdjustmentTests
{
    private const int U = 0, E1 = 1, E2 = 2, E3 = 3, E4 = 4, C = 5;
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);

    private static NodeSpec Node(string id, NodeTier tier, double cores) =>
        new(id, tier, "r1", new Resources(cores, cores * 4, 200, 0), 2000, 0.999, 40, 120);

    private static RunningFleet SmallFleet(double edgeLatencyMs = 1)
    {
        NodeSpec[] nodes =
        [
            Node("U", NodeTier.Device, 1), Node("E1", NodeTier.Edge, 8), Node("E2", NodeTier.Edge, 8),
            Node("E3", NodeTier.Edge, 8), Node("E4", NodeTier.Edge, 8), Node("C", NodeTier.Cloud, 32),
        ];
        LinkSpec[] links =
        [
            new(U, E1, 1000, edgeLatencyMs), new(U, E2, 1000, edgeLatencyMs), new(U, E3, 1000, edgeLatencyMs), new(U, E4, 1000, edgeLatencyMs),
            new(E1, C, 10_000, 5), new(E2, C, 10_000, 5), new(E3, C, 10_000, 5), new(E4, C, 10_000, 5),
        ];
        return new RunningFleet(nodes, new Network(nodes.Length, links));
    }

    // A client pinned to the user's device and a chain of workers: U → s0 → s1 → … → U.
    private static RunningApp Chain(string id, double delayThresholdMs, params int[] assignment)
    {
        var subtasks = assignment.Select((_, k) => k == 0
            ? new Subtask($"{id}-s0", new Resources(0.25, 0.25, 0.5, 0)) { Pinning = new Pinning { AtUserAccessNode = true } }
            : new Subtask($"{id}-s{k}", new Resources(1, 2, 5, 0)) { WorkMi = 20, ExecutionTimeThresholdMs = 100, StateSizeGb = 0.5, ImageSizeGb = 1 }).ToArray();
        var edges = new List<SubtaskEdge> { new(SubtaskEdge.User, 0) { DataRateMbps = 1, TransferDelayThresholdMs = delayThresholdMs } };
        for (var k = 1; k < subtasks.Length; k++) edges.Add(new SubtaskEdge(k - 1, k) { DataRateMbps = 2, DataPerRequestMb = 0.01, TransferDelayThresholdMs = delayThresholdMs });
        edges.Add(new SubtaskEdge(subtasks.Length - 1, SubtaskEdge.User) { DataRateMbps = 1, TransferDelayThresholdMs = delayThresholdMs });
        return new RunningApp(id, subtasks, edges, [U], assignment);
    }

    private static Dictionary<string, int> MovedTo(AppAdjustment adjustment) => adjustment.Moves.ToDictionary(m => m.SubtaskId, m => m.ToNode);

    [Fact]
    public void When_a_node_dies_all_its_subtasks_move_and_nothing_else_does()
    {
        var fleet = SmallFleet();
        fleet.Add(Chain("a", 50, U, E1, E2, E1));
        fleet.Add(Chain("b", 50, U, E3, E4));
        var adjuster = new RuntimeAdjuster(fleet);

        var adjustments = adjuster.OnChange(new NodeDied(E1), T0);

        var a = adjustments.ShouldHaveSingleItem();
        a.AppId.ShouldBe("a");
        a.Committed.ShouldBeTrue();
        a.Moves.Select(m => m.SubtaskId).Order().ShouldBe(new[] { "a-s1", "a-s3" });
        a.Moves.ShouldAllBe(m => m.FromNode == E1 && m.ToNode != E1 && m.BreakBeforeMake);
        fleet.App("a").Assignment[2].ShouldBe(E2);
        fleet.App("b").Assignment.ShouldBe(new[] { U, E3, E4 });
        FeasibilityChecker.Default.Validate(fleet.ProblemFor("a"), fleet.App("a").Assignment).ShouldBeEmpty();
    }

    [Fact]
    public void A_forecast_drop_moves_the_subtask_before_the_node_runs_out()
    {
        var fleet = SmallFleet();
        fleet.Add(Chain("a", 50, U, E1, E2));
        var adjuster = new RuntimeAdjuster(fleet);
        // E1 is forecast to offer half a core: less than the one core a-s1 uses there now.
        var forecast = FleetForecast.ForNodes(new Dictionary<int, Resources> { [E1] = new(0.5, 32, 200, 0) });
        FeasibilityChecker.Default.Validate(fleet.ProblemFor("a"), fleet.App("a").Assignment).ShouldBeEmpty("nothing is broken yet");

        adjuster.Tick(T0, forecast).ShouldHaveSingleItem().Decision.Act.ShouldBeFalse("a fresh trigger must persist first");
        var adjustment = adjuster.Tick(T0.AddSeconds(6), forecast).ShouldHaveSingleItem();

        adjustment.Reason.ShouldBe(ImpactReason.ForecastViolation);
        MovedTo(adjustment).Keys.ShouldBe(new[] { "a-s1" });
        MovedTo(adjustment)["a-s1"].ShouldNotBe(E1);
        // When the drop then happens, the app is no longer there to be hurt.
        adjuster.OnChange(new NodeCapacityChanged(E1, new Resources(0.5, 32, 200, 0)), T0.AddMinutes(5)).ShouldBeEmpty();
    }

    [Fact]
    public void A_node_losing_capacity_moves_only_what_no_longer_fits()
    {
        var fleet = SmallFleet();
        fleet.Add(Chain("a", 50, U, E1, E1, E1));
        var adjuster = new RuntimeAdjuster(fleet, new AdjustmentOptions(Stability: StabilityOptions.None));

        var adjustment = adjuster.OnChange(new NodeCapacityChanged(E1, new Resources(2.5, 32, 200, 0)), T0).ShouldHaveSingleItem();

        adjustment.Reason.ShouldBe(ImpactReason.Violation);
        adjustment.Moves.Count.ShouldBe(1, "two of the three one-core workers still fit in 2.5 cores");
        fleet.App("a").Assignment.Count(v => v == E1).ShouldBe(2);
    }

    [Fact]
    public void An_infeasible_drift_degrades_with_its_reason_and_recovers_when_capacity_returns()
    {
        var fleet = SmallFleet();
        fleet.Add(Chain("a", 50, U, E1, E2));
        var adjuster = new RuntimeAdjuster(fleet);
        var now = T0;
        // E2 keeps exactly the room a-s2 uses there; the rest shrink below one core.
        adjuster.OnChange(new NodeCapacityChanged(E2, new Resources(1, 2, 200, 0)), now);
        foreach (var node in new[] { E3, E4, C }) adjuster.OnChange(new NodeCapacityChanged(node, new Resources(0.5, 2, 200, 0)), now);

        var degraded = adjuster.OnChange(new NodeDied(E1), now).ShouldHaveSingleItem();

        degraded.Committed.ShouldBeFalse();
        var reason = degraded.Degradation.ShouldNotBeNull();
        reason.Constraint.ShouldBeOneOf(ConstraintKind.NodeCapability, ConstraintKind.Capacity);
        reason.SubtaskId.ShouldBe("a-s1");
        var partial = degraded.Replacement!.BestPartial.ShouldNotBeNull();
        partial[0].ShouldBe(U, "the client keeps running on the user's device");
        partial[2].ShouldBe(E2);
        partial[1].ShouldBe(-1);
        adjuster.Degraded.ShouldContain("a");

        now = now.AddMinutes(1);
        adjuster.OnChange(new NodeCapacityChanged(E3, new Resources(8, 32, 200, 0)), now);
        var recovered = adjuster.Tick(now.AddSeconds(1)).ShouldHaveSingleItem();

        recovered.Committed.ShouldBeTrue();
        fleet.App("a").Assignment[1].ShouldBe(E3);
        adjuster.Degraded.ShouldBeEmpty();
        FeasibilityChecker.Default.Validate(fleet.ProblemFor("a"), fleet.App("a").Assignment).ShouldBeEmpty();
    }

    // Links U–E1 and U–E2 take turns being slow (20 s each); the worker fits only on E1 or E2.
    private static List<(DateTimeOffset At, SubtaskMove Move)> RunOscillation(StabilityOptions stability)
    {
        var fleet = SmallFleet(edgeLatencyMs: 2);
        foreach (var node in new[] { E3, E4, C }) fleet.Apply(new NodeDied(node));
        fleet.Add(Chain("a", 10, U, E1));
        var adjuster = new RuntimeAdjuster(fleet, new AdjustmentOptions(Stability: stability));
        var moves = new List<(DateTimeOffset, SubtaskMove)>();
        for (var second = 0; second < 600; second++)
        {
            var now = T0.AddSeconds(second);
            IReadOnlyList<AppAdjustment> step;
            if (second % 20 == 0)
            {
                var slowE1 = second / 20 % 2 == 0;
                adjuster.OnChange(new LinkChanged(0, LatencyMs: slowE1 ? 30 : 2), now);
                step = adjuster.OnChange(new LinkChanged(1, LatencyMs: slowE1 ? 2 : 30), now);
            }
            else step = adjuster.Tick(now);
            foreach (var adjustment in step) moves.AddRange(adjustment.Moves.Select(m => (now, m)));
        }
        return moves;
    }

    private static bool PingPongs(List<(DateTimeOffset At, SubtaskMove Move)> moves, TimeSpan window) =>
        moves.Any(later => moves.Any(earlier => earlier.At < later.At && later.At - earlier.At < window
            && earlier.Move.SubtaskId == later.Move.SubtaskId && earlier.Move.FromNode == later.Move.ToNode));

    [Fact]
    public void An_oscillating_link_does_not_make_a_subtask_ping_pong()
    {
        var window = StabilityOptions.Default.PingPongWindow;
        var undamped = RunOscillation(StabilityOptions.None);
        PingPongs(undamped, window).ShouldBeTrue("without the stability policy the worker follows every swing: " + string.Join(", ", undamped.Select(m => $"{m.At:ss} {m.Move.SubtaskId} {m.Move.FromNode}->{m.Move.ToNode}")));

        var damped = RunOscillation(StabilityOptions.Default);

        damped.ShouldNotBeEmpty("the first sustained violation is still acted on");
        PingPongs(damped, window).ShouldBeFalse();
        damped.Count.ShouldBeLessThanOrEqualTo(StabilityOptions.Default.MaxMovesPerWindow);
    }

    [Fact]
    public void Stability_policy_holds_a_trigger_with_hysteresis_cool_down_and_rate_limit()
    {
        var options = new StabilityOptions(TimeSpan.FromSeconds(5), 0.9, TimeSpan.FromMinutes(1), 2, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));
        var policy = new StabilityPolicy(options);

        policy.Consider("a", 1.2, urgent: false, T0).Act.ShouldBeFalse("a fresh trigger must persist");
        policy.Consider("a", 0.95, urgent: false, T0.AddSeconds(3)).Act.ShouldBeFalse();
        policy.Consider("a", 1.2, urgent: false, T0.AddSeconds(6)).Act.ShouldBeTrue("0.95 is inside the hysteresis band: still triggered since T0");

        policy.Consider("b", 1.2, urgent: false, T0).Act.ShouldBeFalse();
        policy.Consider("b", 0.85, urgent: false, T0.AddSeconds(3)).Reason.ShouldBe("all clear");
        policy.Consider("b", 1.2, urgent: false, T0.AddSeconds(6)).Act.ShouldBeFalse("all clear restarted the hold");

        var move = new SubtaskMove(1, "a-s1", 1, 2, 0.1) { FromNodeId = "E1", ToNodeId = "E2" };
        policy.Moved("a", [move], T0.AddSeconds(6));
        policy.Consider("a", 1.2, urgent: false, T0.AddSeconds(30)).Reason.ShouldBe("trigger must persist");
        var coolDown = policy.Consider("a", 1.2, urgent: false, T0.AddSeconds(36));
        coolDown.Act.ShouldBeFalse();
        coolDown.Reason.ShouldBe("cool-down");
        coolDown.RetryAt.ShouldBe(T0.AddSeconds(6) + options.CoolDown);
        policy.Consider("a", 1.2, urgent: true, T0.AddSeconds(37)).Act.ShouldBeTrue("a dead node does not wait for the cool-down");
        policy.ForbiddenTargets("a", T0.AddSeconds(40))["a-s1"].ShouldBe(new[] { "E1" });
        policy.ForbiddenTargets("a", T0.AddMinutes(11)).ShouldBeEmpty();

        policy.Moved("a", [move with { FromNodeId = "E2", ToNodeId = "E3" }], T0.AddSeconds(37));
        var limited = policy.Consider("a", 1.2, urgent: true, T0.AddSeconds(40));
        limited.Reason.ShouldBe("rate limit");
        limited.RetryAt.ShouldBe(T0.AddSeconds(6) + options.RateWindow);
    }

    [Fact]
    public void Moves_that_swap_two_nodes_are_ordered_with_one_break_before_make()
    {
        NodeSpec[] nodes = [Node("A", NodeTier.Edge, 1), Node("B", NodeTier.Edge, 1)];
        var network = new Network(2, [new LinkSpec(0, 1, 1000, 1)]);
        Subtask Worker(string id) => new(id, new Resources(1, 1, 1, 0));
        var problem = new PlacementProblem(nodes, network, [Worker("x"), Worker("y")], [], [0]);
        SubtaskMove[] moves = [new(0, "x", 0, 1, 0.1), new(1, "y", 1, 0, 0.1)];

        var ordered = MakeBeforeBreak.Order(problem, [0, 1], moves);

        ordered.Count(m => m.BreakBeforeMake).ShouldBe(1);
        ordered[0].BreakBeforeMake.ShouldBeTrue();
        ordered[1].BreakBeforeMake.ShouldBeFalse("once the first has stopped its old instance, the second has room");
    }

    [Fact]
    public void An_apps_view_of_the_fleet_matches_a_fleet_built_from_scratch()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(15),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var (fleet, _, _) = RunningRandomFleet(seed, apps: 6);
                foreach (var app in fleet.Apps)
                {
                    var view = fleet.ProblemFor(app.Id);
                    // The same nodes in a fresh array: its index is built from scratch.
                    var fresh = new PlacementProblem(view.Nodes.ToArray(), view.Network, view.Subtasks, view.Edges, view.UserAccessNodes);
                    var weights = ObjectiveWeights.Default;
                    new PlacementObjective(view, weights).Evaluate(app.Assignment).Total
                        .ShouldBe(new PlacementObjective(fresh, weights).Evaluate(app.Assignment).Total, 1e-9);
                    FeasibilityChecker.Default.Validate(view, app.Assignment).Count
                        .ShouldBe(FeasibilityChecker.Default.Validate(fresh, app.Assignment).Count);
                }
                return true;
            }));
    }

    private static (RunningFleet Fleet, Random Random, Fleet Background) RunningRandomFleet(int seed, int apps)
    {
        var random = new Random(seed);
        var generated = InstanceGenerator.BuildFleet(InstanceGenerator.RandomTopology(seed, 12), new GeneratorOptions(Seed: seed, TargetNodeCount: 60, BackgroundLoad: 0.3));
        var fleet = new RunningFleet(generated.Nodes, generated.Network);
        var placer = new ObjectiveGreedyPolicy();
        for (var i = 0; i < apps * 3 && fleet.Count < apps; i++)
        {
            var app = AppGenerator.RandomDag(random, random.Next(2, 7), $"app{i}", new AppGeneratorOptions(GroupShare: 0.3));
            var user = random.Next(generated.Nodes.Count);
            if (placer.Place(fleet.ProblemForNew(app.Subtasks, app.Edges, [user])) is PlacementPlan plan)
                fleet.Add(new RunningApp(app.Name, app.Subtasks, app.Edges, [user], plan.Assignment));
        }
        return (fleet, random, generated);
    }

    private static FleetChange RandomDrift(RunningFleet fleet, Random random)
    {
        var node = random.Next(fleet.Nodes.Count);
        var link = random.Next(fleet.Network.Links.Count);
        return random.Next(4) switch
        {
            0 => new NodeCapacityChanged(node, fleet.Nodes[node].Capacity.Scale(random.NextDouble())),
            1 => new NodeDied(node),
            2 => new LinkChanged(link, LatencyMs: fleet.Network.Links[link].LatencyMs * (1 + 4 * random.NextDouble()), BandwidthMbps: fleet.Network.Links[link].BandwidthMbps * random.NextDouble()),
            _ => new RegionUplinkChanged(fleet.Nodes[node].Region, 0.5),
        };
    }

    [Fact]
    public void Traffic_rerouted_off_a_slower_link_is_checked_against_the_apps_on_its_new_route()
    {
        NodeSpec[] nodes = [Node("U", NodeTier.Device, 1), Node("E1", NodeTier.Edge, 8), Node("E2", NodeTier.Edge, 8), Node("C", NodeTier.Cloud, 32)];
        LinkSpec[] links = [new(0, 1, 10, 1), new(0, 2, 5, 2), new(1, 3, 1000, 5), new(2, 3, 1000, 5)];
        var fleet = new RunningFleet(nodes, new Network(nodes.Length, links));
        fleet.Add(Chain("a", 50, 0, 3)); // U → C over U–E1 (6 ms, against 7 ms over U–E2), 3 Mbps
        fleet.Add(Chain("b", 50, 0, 2)); // U → E2: 3 of the 5 Mbps of U–E2
        ImpactAnalysis.Examine(fleet, ["a", "b"], FleetDelta.None).ShouldAllBe(i => i.Reason == ImpactReason.None);

        // U–E1 slows to 3 ms: a's route moves to U–E2, which cannot carry both apps.
        var delta = fleet.Apply(new LinkChanged(0, LatencyMs: 3));

        delta.Rerouted.ShouldBe(["a"]);
        var affected = ImpactAnalysis.Find(fleet, delta).ToDictionary(i => i.AppId);
        affected.Keys.Order().ShouldBe(["a", "b"]);
        affected["b"].Violations.ShouldContain(v => v.Constraint == ConstraintKind.LinkBandwidth);
    }

    [Fact]
    public void Impact_analysis_through_the_index_finds_exactly_what_a_scan_of_every_app_finds()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var (fleet, random, _) = RunningRandomFleet(seed, apps: 10);
                var all = fleet.Apps.Select(a => a.Id).ToArray();
                for (var step = 0; step < 4; step++)
                {
                    // Later placements can already have broken earlier apps; the change is not to blame for those.
                    var brokenBefore = Affected(ImpactAnalysis.Examine(fleet, all, FleetDelta.None));
                    var change = RandomDrift(fleet, random);
                    var delta = fleet.Apply(change);
                    var indexed = Affected(ImpactAnalysis.Find(fleet, delta));
                    var scanned = Affected(ImpactAnalysis.Examine(fleet, all, delta));
                    indexed.ShouldBeSubsetOf(scanned, $"seed {seed}, {change}");
                    scanned.Except(brokenBefore).ShouldBeSubsetOf(indexed, $"seed {seed}, {change}: the index missed an app the change broke");
                }
                return true;
            }));

        static string[] Affected(IEnumerable<AffectedApp> impacts) =>
            impacts.Where(i => i.Reason != ImpactReason.None).Select(i => i.AppId).Order(StringComparer.Ordinal).ToArray();
    }

    [Fact]
    public void Repaired_plans_always_pass_the_feasibility_checker_and_capacity_accounting_stays_exact()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var (fleet, random, generated) = RunningRandomFleet(seed, apps: 8);
                var background = generated.Nodes.Select(n => n.Used).ToArray();
                var adjuster = new RuntimeAdjuster(fleet, new AdjustmentOptions(Stability: StabilityOptions.None));
                var now = T0;
                for (var step = 0; step < 6; step++)
                {
                    now = now.AddMinutes(1);
                    foreach (var adjustment in adjuster.OnChange(RandomDrift(fleet, random), now))
                    {
                        if (adjustment.Replacement?.Result is PlacementPlan plan)
                        {
                            FeasibilityChecker.Default.Validate(adjustment.Problem!, plan.Assignment).ShouldBeEmpty($"seed {seed}");
                            adjustment.ObjectiveAfter.ShouldBe(plan.Objective.Total);
                        }
                        else adjustment.Degradation.ShouldNotBeNull($"seed {seed}: neither repaired nor degraded");
                    }
                }
                // Every node's usage is its background plus exactly what the running apps put there.
                var expected = (Resources[])background.Clone();
                foreach (var app in fleet.Apps)
                    for (var k = 0; k < app.Assignment.Count; k++)
                        expected[app.Assignment[k]] += app.Subtasks[k].Demand;
                for (var v = 0; v < expected.Length; v++)
                    for (var d = 0; d < Resources.Dimensions; d++)
                        fleet.Nodes[v].Used[d].ShouldBe(expected[v][d], 1e-6, $"seed {seed}, node {v}");
                return true;
            }));
    }
}
