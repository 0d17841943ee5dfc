using NodeTier = ComputeNet.Actors.Model.NodeTier;
using System.Text.Json;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Benchmark;
using ComputeNet.Actors.Placement.Generation;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement;

public sealed class GenerationAndBenchmarkTests(ITestOutputHelper output)
{
    private static void RequireSharedData()
    {
        if (!SharedData.Available) Assert.Skip("shared/data is not next to the repository on this machine");
    }

    [Fact]
    public void The_generator_is_deterministic_for_a_seed_and_grows_to_the_target_size()
    {
        var topology = InstanceGenerator.RandomTopology(3, 25);
        var a = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: 9, TargetNodeCount: 400));
        var b = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: 9, TargetNodeCount: 400));
        a.Nodes.Count.ShouldBe(400);
        a.Nodes.ShouldBe(b.Nodes);
        a.Nodes.Count(n => n.Tier == NodeTier.Cloud).ShouldBe(5);
        a.Nodes.Count(n => n.Tier == NodeTier.Device).ShouldBeGreaterThan(200);
        // Every node is reachable: the generator joins stray components.
        Enumerable.Range(0, 400).All(v => !double.IsInfinity(a.Network.LatencyMs(0, v))).ShouldBeTrue();
    }

    [Fact]
    public void Topology_Zoo_GraphML_gives_coordinates_link_speeds_and_great_circle_latency()
    {
        RequireSharedData();
        var geant = PlacementDataLoader.LoadZooTopology(SharedData.Path("topology", "zoo", "Geant2012.graphml"));
        geant.Nodes.Count.ShouldBe(40);
        geant.Edges.Count.ShouldBe(61);
        geant.Edges.ShouldContain(e => e.LinkSpeedBitsPerSecond == 2.5e9);
        var fleet = InstanceGenerator.BuildFleet(geant);
        // Amsterdam to anywhere in Europe: a few to a few tens of milliseconds in fibre.
        var farthest = Enumerable.Range(0, 40).Max(v => fleet.Network.LatencyMs(0, v));
        farthest.ShouldBeInRange(5, 80);
    }

    [Fact]
    public void The_iFogSim_VR_game_and_DCNS_apps_load_and_are_placed_near_their_users()
    {
        RequireSharedData();
        var apps = PlacementDataLoader.LoadIFogSimApps(SharedData.Path("apps", "ifogsim_apps.json"));
        var vrGame = apps.Single(a => a.Name == "vr_game");
        vrGame.Subtasks.Select(s => s.Id).ShouldBe(["vr_game.client", "vr_game.concentration_calculator", "vr_game.connector"]);
        vrGame.Subtasks[2].Pinning.Tier.ShouldBe(NodeTier.Cloud);
        vrGame.Edges.ShouldContain(e => e.From == SubtaskEdge.User && e.To == 0);
        apps.Single(a => a.Name == "dcns").Subtasks.Single(s => s.Id == "dcns.motion_detector").Pinning.AtUserAccessNode.ShouldBeTrue();

        var topology = PlacementDataLoader.LoadZooTopology(SharedData.Path("topology", "zoo", "Geant2012.graphml"));
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(TargetNodeCount: 400));
        var user = Enumerable.Range(0, fleet.Nodes.Count).First(v => fleet.Nodes[v].Tier == NodeTier.Device && fleet.Nodes[v].Capacity.CpuCores >= 2);
        foreach (var app in apps.Where(a => a.Name is "vr_game" or "dcns"))
        {
            var problem = InstanceGenerator.Problem(fleet, app, user);
            var plan = new EdgewardsPolicy().Place(problem).ShouldBeOfType<PlacementPlan>(app.Name);
            FeasibilityChecker.Default.Validate(problem, plan.Assignment).ShouldBeEmpty();
            output.WriteLine($"{app.Name}: {string.Join(", ", plan.NodeIdBySubtaskId.Select(p => $"{p.Key}→{p.Value}"))} {plan.Objective}");
        }
    }

    [Fact]
    public void The_benchmark_runs_end_to_end_on_a_small_configuration()
    {
        var report = PlacementBenchmark.Run(InstanceGenerator.RandomTopology(5, 20),
            new BenchmarkOptions(GapInstances: 3, CpSatTimeLimitSeconds: 1, LoadNodeCount: 80, MaxSubmissions: 30,
                ScaleNodeCount: 500, ScaleSubtasks: 10, ScaleDecisions: 3));
        report.InfeasiblePlans.ShouldBe(0);
        report.Policies.Select(p => p.Policy).ShouldContain("cp-sat");
        report.Policies.Where(p => p.Policy != "cp-sat").ShouldAllBe(p => p.AcceptanceRatio != null && p.P99MsScale != null);
        JsonSerializer.Serialize(report).ShouldContain("\"gap_best_heuristic\"");
    }

    [Fact]
    public void The_replacement_benchmark_runs_end_to_end_on_a_small_configuration()
    {
        var report = ReplacementBenchmark.Run(InstanceGenerator.RandomTopology(8, 20),
            new ReplacementBenchmarkOptions(NodeCount: 150, Apps: 25, Scenarios: 8, CpSatReferenceApps: 1, CpSatTimeLimitSeconds: 1));
        report.InfeasiblePlans.ShouldBe(0);
        report.RunningApps.ShouldBe(25);
        report.PerScenario.Keys.ShouldBe(new[] { "node_capacity_halved", "node_died", "link_latency_tripled", "region_uplink_halved" }, ignoreOrder: true);
        report.PerScenario["node_died"].AffectedApps.ShouldBeGreaterThan(0, "a node running an app died twice");
        JsonSerializer.Serialize(report).ShouldContain("\"moves_vs_full\"");
    }

    [Fact]
    [Trait("Category", "Benchmark")]
    public void Replacement_benchmark_on_Geant2012()
    {
        RequireSharedData();
        var topology = PlacementDataLoader.LoadZooTopology(SharedData.Path("topology", "zoo", "Geant2012.graphml"));
        var report = ReplacementBenchmark.Run(topology);
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "replacement-benchmark.json"), json);
        output.WriteLine(json);
        report.InfeasiblePlans.ShouldBe(0);
    }

    [Fact]
    [Trait("Category", "Benchmark")]
    public void Benchmark_on_Geant2012_with_iFogSim_apps()
    {
        RequireSharedData();
        var topology = PlacementDataLoader.LoadZooTopology(SharedData.Path("topology", "zoo", "Geant2012.graphml"));
        var apps = PlacementDataLoader.LoadIFogSimApps(SharedData.Path("apps", "ifogsim_apps.json"));
        var report = PlacementBenchmark.Run(topology, new BenchmarkOptions(), apps);
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "placement-benchmark.json"), json);
        output.WriteLine(json);
        report.InfeasiblePlans.ShouldBe(0);
    }
}
