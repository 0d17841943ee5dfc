using ComputeNet.Actors.Placement;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement;

public sealed class ReplacementTests
{
    private static (PlacementProblem Problem, PlacementPlan Plan) Placed(int seed, int maxNodes = 40, int maxSubtasks = 8)
    {
        for (var attempt = 0; ; attempt++)
        {
            var problem = RandomInstances.Create(seed + attempt * 7919, minNodes: 20, maxNodes: maxNodes, minSubtasks: 3, maxSubtasks: maxSubtasks);
            if (new ObjectiveGreedyPolicy().Place(problem) is PlacementPlan plan) return (problem, plan);
        }
    }

    private static PlacementProblem KillNode(PlacementProblem problem, int v) =>
        problem.WithNodes(problem.Nodes.Select((n, i) => i == v ? n with { Capacity = Resources.Zero, Used = Resources.Zero, ForecastAvailable = null } : n).ToArray());

    [Fact]
    public void Nothing_moves_when_nothing_is_violated()
    {
        var (problem, plan) = Placed(11);
        var result = new GreedyRepairPolicy().Replace(problem, plan.Assignment);
        result.ViolationsBefore.ShouldBeEmpty();
        result.Moves.ShouldBeEmpty();
        result.Result.ShouldBeOfType<PlacementPlan>();
    }

    [Fact]
    public void When_a_node_dies_its_subtasks_move_and_nothing_else_does()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var (problem, plan) = Placed(seed);
                var dead = plan.Assignment[0];
                var changed = KillNode(problem, dead);
                var result = new GreedyRepairPolicy().Replace(changed, plan.Assignment);
                if (result.Result is not PlacementPlan repaired) return true; // may be infeasible: checked elsewhere
                FeasibilityChecker.Default.Validate(changed, repaired.Assignment).ShouldBeEmpty();
                var onDead = Enumerable.Range(0, plan.Assignment.Count).Where(k => plan.Assignment[k] == dead).ToHashSet();
                result.Moves.Select(m => m.Subtask).ToHashSet().IsSupersetOf(onDead).ShouldBeTrue();
                return true;
            }));
    }

    [Fact]
    public void Greedy_repair_never_returns_an_infeasible_plan()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var (problem, plan) = Placed(seed);
                var random = new Random(seed);
                var changed = problem.WithNodes(problem.Nodes.Select(n => random.NextDouble() < 0.3
                    ? n with { Used = n.Capacity - n.Free + new Resources(n.Free.CpuCores * random.NextDouble(), 0, 0, 0), ForecastAvailable = null }
                    : n).ToArray());
                var result = new GreedyRepairPolicy().Replace(changed, plan.Assignment);
                if (result.Result is PlacementPlan repaired)
                    FeasibilityChecker.Default.Validate(changed, repaired.Assignment).ShouldBeEmpty();
                else result.BestPartial.ShouldNotBeNull();
                return true;
            }));
    }

    [Fact]
    public void An_unrepairable_drift_degrades_explicitly_keeping_what_still_works()
    {
        var (problem, plan) = Placed(5);
        // Every node loses all capacity except the first subtask's node.
        var keep = plan.Assignment[0];
        var changed = problem.WithNodes(problem.Nodes.Select((n, i) => i == keep ? n : n with { Capacity = Resources.Zero, Used = Resources.Zero, ForecastAvailable = null }).ToArray());
        var result = new GreedyRepairPolicy().Replace(changed, plan.Assignment);
        if (plan.Assignment.All(v => v == keep)) return; // nothing to break on this seed
        var rejection = result.Result.ShouldBeOfType<PlacementRejection>();
        rejection.Constraint.ShouldBe(ConstraintKind.NodeCapability);
        result.BestPartial.ShouldNotBeNull()[0].ShouldBe(keep);
    }

    [Fact]
    public void CpSat_repair_costs_no_more_than_greedy_repair_when_proved_optimal()
    {
        var compared = 0;
        for (var seed = 1; seed <= 6; seed++)
        {
            var (problem, plan) = Placed(seed * 101, maxNodes: 25, maxSubtasks: 5);
            var changed = KillNode(problem, plan.Assignment[0]);
            var greedy = new GreedyRepairPolicy().Replace(changed, plan.Assignment);
            var exact = new CpSatRepairPolicy(options: new CpSatOptions(TimeLimitSeconds: 20)).Replace(changed, plan.Assignment);
            if (exact.Result is PlacementPlan repaired) FeasibilityChecker.Default.Validate(changed, repaired.Assignment).ShouldBeEmpty();
            if (greedy.Result is not PlacementPlan || exact.Result is not PlacementPlan { ProvedOptimal: true }) continue;
            exact.TotalCost.ShouldBeLessThanOrEqualTo(greedy.TotalCost + 1e-4 * Math.Max(1, greedy.TotalCost), $"seed {seed}");
            compared++;
        }
        compared.ShouldBeGreaterThan(0);
    }
}
