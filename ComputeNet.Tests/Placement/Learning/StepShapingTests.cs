using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Learning;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement.Learning;

/// <summary>The training reward's shaping: the reserve term charges only what a step takes of a node's last capacity.</summary>
public sealed class StepShapingTests
{
    private static readonly StepShaping ReserveOnly = new(ReserveWeight: 0.1, ReserveShare: 0.25, LatencyWeight: 0);

    [Fact]
    public void Reserve_cost_is_zero_above_the_reserve_positive_inside_it_and_bounded()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var problem = RandomInstances.Create(seed);
                var context = new GreedyContext(problem, new PartialPlan(problem), ObjectiveWeights.Default);
                for (var k = 0; k < problem.Subtasks.Count; k++)
                {
                    var demand = problem.SubtaskArray[k].Demand;
                    for (var v = 0; v < problem.Nodes.Count; v++)
                    {
                        var capacity = problem.NodeArray[v].Capacity;
                        var free = problem.Free[v];
                        var cost = ReserveOnly.Cost(context, k, v);
                        cost.ShouldBeInRange(0, 2 * ReserveOnly.ReserveWeight + 1e-12);
                        bool KeepsReserve(double c, double left, double d) => c <= 0 || left - d >= 0.25 * c;
                        bool EntersReserve(double c, double left, double d) => c > 0 && d > 0 && left >= 0.25 * c && left - d < 0.25 * c;
                        if (KeepsReserve(capacity.CpuCores, free.CpuCores, demand.CpuCores) && KeepsReserve(capacity.MemoryGb, free.MemoryGb, demand.MemoryGb))
                            cost.ShouldBe(0);
                        if (EntersReserve(capacity.CpuCores, free.CpuCores, demand.CpuCores) || EntersReserve(capacity.MemoryGb, free.MemoryGb, demand.MemoryGb))
                            cost.ShouldBeGreaterThan(0);
                    }
                }
                return true;
            }));
    }

    [Fact]
    public void Environment_reward_is_the_negative_scaled_objective_delta_plus_shaping()
    {
        var problem = RandomInstances.Create(4242, minNodes: 30, maxSubtasks: 6);
        var shaped = new PlacementEnvironment(problem);
        var plain = new PlacementEnvironment(problem, EnvironmentOptions.Default with { Shaping = StepShaping.None });
        var plainSum = 0.0;
        var shapingSum = 0.0;
        while (shaped.Current is { } graph && plain.Current is not null)
        {
            var slot = Enumerable.Range(0, graph.Count).First(i => graph.Mask[i]);
            var shaping = StepShaping.Default.Cost(shaped.Context, graph.Subtask, graph.Nodes[slot]);
            var shapedReward = shaped.Step(slot);
            var plainReward = plain.Step(slot);
            (plainReward - shapedReward).ShouldBe(shaping * EnvironmentOptions.Default.RewardScale, 1e-9);
            plainSum += plainReward;
            shapingSum += shaping;
        }
        // This instance's plan spans links, so the shaping charged something.
        shapingSum.ShouldBeGreaterThan(0);
        shaped.Rejected.ShouldBe(plain.Rejected);
        if (!plain.Rejected)
        {
            // Unshaped, the episode's reward is exactly the plan's objective change, scaled.
            var objective = new PlacementObjective(problem);
            var empty = objective.Evaluate(Enumerable.Repeat(-1, problem.Subtasks.Count).ToArray()).Total;
            plainSum.ShouldBe(-(objective.Evaluate(plain.Assignment!).Total - empty) * EnvironmentOptions.Default.RewardScale, 1e-6);
        }
    }
}
