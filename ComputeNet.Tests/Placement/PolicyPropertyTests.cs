using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Generation;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement;

/// <summary>Random instances, one seed each, so a failing case can be replayed by its seed.</summary>
internal static class RandomInstances
{
    public static PlacementProblem Create(int seed, int minNodes = 8, int maxNodes = 40, int minSubtasks = 2, int maxSubtasks = 10)
    {
        var random = new Random(seed);
        var topology = InstanceGenerator.RandomTopology(seed, random.Next(minNodes, maxNodes + 1));
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: seed, BackgroundLoad: random.NextDouble() * 0.8));
        var app = AppGenerator.RandomDag(random, random.Next(minSubtasks, maxSubtasks + 1), $"app{seed}",
            new AppGeneratorOptions(DemandScale: 0.5 + random.NextDouble() * 2, GroupShare: 0.3, CloudPinShare: 0.15));
        return InstanceGenerator.Problem(fleet, app, random.Next(fleet.Nodes.Count));
    }

    public static Arbitrary<int> Seeds => Gen.Choose(1, 1_000_000).ToArbitrary();
}

/// <summary>
/// The promise every policy makes: a plan the checker accepts, or a rejection. Never an infeasible
/// plan, capacity never exceeded, pinning respected.
/// </summary>
public sealed class PolicyPropertyTests
{
    private static readonly PolicyRegistry Registry = PolicyRegistry.CreateDefault(cpSat: new CpSatOptions(TimeLimitSeconds: 5.0)); // generous: its limit is wall time, and these instances solve in milliseconds on an idle machine

    internal static bool IsValidOrRejected(PlacementProblem problem, PlacementResult result)
    {
        if (result is PlacementRejection rejection)
        {
            rejection.SubtaskId.ShouldNotBeNullOrEmpty();
            return true;
        }
        var plan = (PlacementPlan)result;
        FeasibilityChecker.Default.Validate(problem, plan.Assignment).ShouldBeEmpty();

        // Checked again without the checker: capacity and pinning.
        var load = new Dictionary<int, Resources>();
        for (var k = 0; k < plan.Assignment.Count; k++)
        {
            var v = plan.Assignment[k];
            load[v] = load.GetValueOrDefault(v) + problem.Subtasks[k].Demand;
            var pin = problem.Subtasks[k].Pinning;
            var node = problem.Nodes[v];
            if (pin.NodeId is not null) node.Id.ShouldBe(pin.NodeId);
            if (pin.Tier is not null) node.Tier.ShouldBe(pin.Tier.Value);
            if (pin.Region is not null) node.Region.ShouldBe(pin.Region);
            if (pin.AtUserAccessNode) problem.UserAccessNodes.ShouldContain(v);
        }
        foreach (var (v, sum) in load)
        {
            var node = problem.Nodes[v];
            var ceiling = node.Capacity - node.Used;
            for (var d = 0; d < Resources.Dimensions; d++) sum[d].ShouldBeLessThanOrEqualTo(ceiling[d] + 1e-6);
            if (node.ForecastAvailable is { } forecast)
                for (var d = 0; d < Resources.Dimensions; d++) sum[d].ShouldBeLessThanOrEqualTo(forecast[d] + 1e-6);
        }
        return true;
    }

    [Theory]
    [InlineData("first-fit")]
    [InlineData("best-fit")]
    [InlineData("kubernetes")]
    [InlineData("edgewards")]
    [InlineData("greedy-objective")]
    public void Heuristic_returns_a_feasible_plan_or_a_rejection(string policyName)
    {
        var policy = Registry.Get(policyName);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var problem = RandomInstances.Create(seed);
                return IsValidOrRejected(problem, policy.Place(problem));
            }));
    }

    [Fact]
    public void CpSat_returns_a_feasible_plan_or_a_rejection()
    {
        var policy = Registry.Get("cp-sat");
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(15),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var problem = RandomInstances.Create(seed, maxNodes: 20, maxSubtasks: 6);
                return IsValidOrRejected(problem, policy.Place(problem));
            }));
    }

    [Fact]
    public void Proved_optimal_CpSat_is_at_least_as_good_as_every_heuristic_and_finds_a_plan_whenever_one_does()
    {
        var cpSat = Registry.Get("cp-sat");
        var heuristics = Registry.HeuristicNames.Select(Registry.Get).ToArray();
        var proved = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(15),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var problem = RandomInstances.Create(seed, minNodes: 6, maxNodes: 14, maxSubtasks: 5);
                var exact = cpSat.Place(problem);
                foreach (var heuristic in heuristics)
                {
                    if (heuristic.Place(problem) is not PlacementPlan found) continue;
                    // A heuristic plan proves feasibility; CP-SAT must not miss it.
                    exact.ShouldBeOfType<PlacementPlan>($"seed {seed}: {heuristic.Name} found a plan");
                    var optimum = (PlacementPlan)exact;
                    if (optimum.ProvedOptimal != true) continue;
                    optimum.Objective.Total.ShouldBeLessThanOrEqualTo(found.Objective.Total + 1e-4 * Math.Max(1, Math.Abs(found.Objective.Total)),
                        $"seed {seed}: {heuristic.Name}");
                }
                if (exact is PlacementPlan { ProvedOptimal: true }) proved++;
                return true;
            }));
        proved.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void A_plan_names_its_policy_explains_itself_and_matches_the_objective()
    {
        var problem = RandomInstances.Create(12345, minNodes: 30, maxSubtasks: 6);
        var plan = Registry.Get("kubernetes").Place(problem).ShouldBeOfType<PlacementPlan>();
        plan.PolicyName.ShouldBe("kubernetes");
        plan.NodeIdBySubtaskId.Count.ShouldBe(problem.Subtasks.Count);
        plan.RunnersUp.Count.ShouldBe(problem.Subtasks.Count);
        plan.Objective.ShouldBe(new PlacementObjective(problem).Evaluate(plan.Assignment));
    }

    [Fact]
    public void An_impossible_subtask_is_rejected_naming_the_constraint_and_the_subtask()
    {
        var problem = RandomInstances.Create(7, maxSubtasks: 3);
        var impossible = problem.Subtasks.Select((s, k) => k == 1 ? s with { Demand = new Resources(10_000, 1, 1, 0), Pinning = Pinning.None } : s).ToArray();
        var changed = new PlacementProblem(problem.Nodes, problem.Network, impossible, problem.Edges, problem.UserAccessNodes);
        foreach (var name in Registry.Names)
        {
            var rejection = Registry.Get(name).Place(changed).ShouldBeOfType<PlacementRejection>(name);
            rejection.Constraint.ShouldBe(ConstraintKind.NodeCapability, name);
            rejection.SubtaskId.ShouldBe(impossible[1].Id, name);
        }
    }

    [Fact]
    public void Unknown_policy_names_are_refused_and_learned_policies_can_register()
    {
        var registry = PolicyRegistry.CreateDefault();
        Should.Throw<KeyNotFoundException>(() => registry.Get("nope"));
        registry.Register("drl", () => new FirstFitPolicy());
        registry.Get("DRL").ShouldBeOfType<FirstFitPolicy>();
    }
}
