using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Generation;
using ComputeNet.Actors.Placement.Learning;
using ComputeNet.Tests.TestSupport;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement.Learning;

/// <summary>The GNN-DRL policy: masked actions, feasible plans, reproducible models, learning that helps, and the fallback.</summary>
public sealed class DrlPolicyTests
{
    // Untrained but seeded: its scores are arbitrary, which is what the masking must survive.
    private static readonly DrlPlacementPolicy Untrained = new(PlacementGnn.Create(11), "untrained test network");

    [Fact]
    public void Masked_policy_never_emits_an_infeasible_plan()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var problem = RandomInstances.Create(seed);
                var result = Untrained.Place(problem);
                result.PolicyName.ShouldBe(DrlPlacementPolicy.PolicyName);
                return PolicyPropertyTests.IsValidOrRejected(problem, result);
            }));
    }

    [Fact]
    public void Environment_offers_only_feasible_actions_and_completes_feasible_plans()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var problem = RandomInstances.Create(seed);
                var environment = new PlacementEnvironment(problem);
                var random = new Random(seed);
                while (environment.Current is { } graph)
                {
                    graph.Count.ShouldBeLessThanOrEqualTo(EnvironmentOptions.Default.CandidateLimit);
                    var feasible = Enumerable.Range(0, graph.Count).Where(i => graph.Mask[i]).ToArray();
                    feasible.ShouldNotBeEmpty();
                    var slot = feasible[random.Next(feasible.Length)];
                    // A masked-out slot (or none past the end) is refused.
                    Should.Throw<ArgumentOutOfRangeException>(() => environment.Step(Enumerable.Range(0, graph.Count).FirstOrDefault(i => !graph.Mask[i], graph.Count)));
                    environment.Step(slot);
                }
                if (environment.Assignment is { } assignment) FeasibilityChecker.Default.Validate(problem, assignment).ShouldBeEmpty();
                else environment.Rejected.ShouldBeTrue();
                return true;
            }));
    }

    [Fact]
    public void Saved_and_reloaded_model_gives_identical_scores_and_plans()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "model.bin");
        var model = PlacementGnn.Create(5);
        model.save(path);
        var reloaded = DrlPlacementPolicy.Load(path);
        reloaded.HasModel.ShouldBeTrue();
        var copy = new PlacementGnn();
        copy.LoadWeights(path);
        var originalWeights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
        foreach (var (name, parameter) in copy.named_parameters())
            parameter.data<float>().ToArray().ShouldBe(originalWeights[name], name);

        var original = new DrlPlacementPolicy(model, "in memory");
        for (var seed = 1; seed <= 5; seed++)
        {
            var problem = RandomInstances.Create(seed * 7919);
            // Bit-identical weights; the native kernels may still round the last bit differently for
            // buffers at other addresses, so scores are compared to within float precision.
            if (new PlacementEnvironment(problem).Current is { } graph)
            {
                var expected = model.Score(graph);
                var actual = copy.Score(graph);
                for (var i = 0; i < expected.Length; i++) actual[i].ShouldBe(expected[i], 1e-5 * Math.Max(1, Math.Abs(expected[i])));
            }
            var a = original.Place(problem);
            var b = reloaded.Place(problem);
            b.GetType().ShouldBe(a.GetType());
            if (a is PlacementPlan planA) ((PlacementPlan)b).Assignment.ShouldBe(planA.Assignment);
        }
    }

    [Fact]
    public void Serving_path_scores_like_the_torch_forward()
    {
        var model = PlacementGnn.Create(13);
        for (var seed = 1; seed <= 8; seed++)
        {
            if (new PlacementEnvironment(RandomInstances.Create(seed * 104729)).Current is not { } graph) continue;
            var torch = model.ScoreWithTorch(graph);
            var served = model.Score(graph);
            for (var i = 0; i < torch.Length; i++) served[i].ShouldBe(torch[i], 1e-5 * Math.Max(1, Math.Abs(torch[i])));
        }
    }

    [Fact]
    public void Batched_serving_decides_like_the_torch_forward_on_graphs_built_step_by_step()
    {
        var model = PlacementGnn.Create(19);
        var served = new DrlPlacementPolicy(model, "served");
        var reference = new TorchReferencePolicy(model);
        var plans = 0;
        for (var seed = 1; seed <= 8; seed++)
        {
            // Fleets above the candidate limit, so candidates are pruned and the sets differ between subtasks.
            var problem = RandomInstances.Create(seed * 6007, minNodes: 70, maxNodes: 200, maxSubtasks: 14);
            var fast = served.Place(problem);
            var slow = reference.Place(problem);
            fast.GetType().ShouldBe(slow.GetType());
            if (slow is not PlacementPlan expected) continue;
            plans++;
            var actual = (PlacementPlan)fast;
            actual.Assignment.ShouldBe(expected.Assignment);
            for (var k = 0; k < expected.RunnersUp.Count; k++)
            {
                actual.RunnersUp[k].Select(c => c.Node).ShouldBe(expected.RunnersUp[k].Select(c => c.Node));
                for (var i = 0; i < expected.RunnersUp[k].Count; i++)
                    actual.RunnersUp[k][i].Score.ShouldBe(expected.RunnersUp[k][i].Score, 1e-5 * Math.Max(1, Math.Abs(expected.RunnersUp[k][i].Score)));
            }
        }
        plans.ShouldBeGreaterThan(0);
    }

    /// <summary>
    /// The unoptimised policy: each step's graph built on its own (<see cref="CandidateGraph.Build"/>, with its own
    /// feasibility checks) and scored by the TorchSharp forward, no embedding shared between steps.
    /// </summary>
    private sealed class TorchReferencePolicy(PlacementGnn model)
        : GreedyPolicy(new GreedyOptions(CandidateLimit: EnvironmentOptions.Default.CandidateLimit))
    {
        private int _scoredSubtask = -1;
        private int[] _scoredAssignment = [];
        private readonly Dictionary<int, double> _scores = new();

        public override string Name => DrlPlacementPolicy.PolicyName;

        protected override double Score(GreedyContext context, int k, int v)
        {
            if (k != _scoredSubtask || !context.Plan.ToArray().AsSpan().SequenceEqual(_scoredAssignment))
            {
                _scoredSubtask = k;
                _scoredAssignment = context.Plan.ToArray();
                _scores.Clear();
                var graph = CandidateGraph.Build(context, k, Options.CandidateLimit, context.Plan.PlacedCount, context.Problem.Subtasks.Count);
                var logits = model.ScoreWithTorch(graph);
                for (var i = 0; i < graph.Count; i++)
                    if (graph.Mask[i]) _scores[graph.Nodes[i]] = -logits[i];
            }
            return _scores.TryGetValue(v, out var score) ? score : 1e6 + context.Objective.Delta(context.Plan, k, v);
        }
    }

    [Fact]
    public void Embeddings_shared_within_a_decision_give_the_scores_of_a_fresh_embedding()
    {
        var model = PlacementGnn.Create(17);
        var reusedSets = 0;
        for (var seed = 1; seed <= 6; seed++)
        {
            var environment = new PlacementEnvironment(RandomInstances.Create(seed * 7907, minNodes: 80, maxNodes: 120, maxSubtasks: 12));
            var embeddings = new CandidateEmbeddings();
            var steps = 0;
            while (environment.Current is { } graph)
            {
                var fresh = model.Score(graph);
                var shared = model.Score(graph, embeddings);
                shared.ShouldBe(fresh);
                steps++;
                var best = Enumerable.Range(0, graph.Count).Where(i => graph.Mask[i]).MaxBy(i => shared[i]);
                environment.Step(best);
            }
            reusedSets += steps - embeddings.Sets;
        }
        // Subtasks anchored at the same placed node share a candidate set; otherwise the cache would not pay.
        reusedSets.ShouldBeGreaterThan(0);
    }

    [Fact]
    public void Same_seed_gives_the_same_network()
    {
        var problem = RandomInstances.Create(99);
        var graph = new PlacementEnvironment(problem).Current.ShouldNotBeNull();
        PlacementGnn.Create(3).Score(graph).ShouldBe(PlacementGnn.Create(3).Score(graph));
        PlacementGnn.Create(4).Score(graph).ShouldNotBe(PlacementGnn.Create(3).Score(graph));
    }

    [Fact]
    public void Short_ppo_run_on_a_tiny_instance_set_improves_the_mean_reward()
    {
        var topology = InstanceGenerator.RandomTopology(21, 24);
        var problems = new TrainingInstances([topology], seed: 21, minSubtasks: 3, maxSubtasks: 6).Take(8);
        var model = PlacementGnn.Create(21);
        using var trainer = new PpoTrainer(model, new TrainingOptions(Seed: 21, LearningRate: 3e-3));
        var before = PpoTrainer.MeanGreedyReward(model, problems);
        for (var update = 0; update < 30; update++) trainer.Update(problems);
        var after = PpoTrainer.MeanGreedyReward(model, problems);
        after.ShouldBeGreaterThan(before + 0.1 * Math.Abs(before), $"mean reward {before:F3} → {after:F3}");
    }

    [Fact]
    public void Without_a_model_the_policy_falls_back_to_the_best_heuristic_and_says_so()
    {
        var messages = new List<string>();
        var registry = PolicyRegistry.CreateDefault();
        DrlPlacementPolicy.Register(registry, "/nonexistent/placement-drl.bin", messages.Add);
        messages.ShouldBeEmpty(); // loaded on first use, not at registration
        var policy = registry.Get("drl").ShouldBeOfType<DrlPlacementPolicy>();
        policy.HasModel.ShouldBeFalse();
        registry.Get("drl").ShouldBeSameAs(policy);
        messages.ShouldHaveSingleItem().ShouldContain("falling back to greedy-objective");

        var problem = RandomInstances.Create(4242, minNodes: 30, maxSubtasks: 6);
        var result = registry.Get("drl").Place(problem);
        var heuristic = registry.Get(DrlPlacementPolicy.FallbackPolicyName).Place(problem);
        result.PolicyName.ShouldBe(DrlPlacementPolicy.FallbackPolicyName);
        result.Explanation.ShouldNotBeNull().ShouldContain("falling back");
        if (heuristic is PlacementPlan expected) result.ShouldBeOfType<PlacementPlan>().Assignment.ShouldBe(expected.Assignment);
    }

    [Fact]
    public void A_learned_plan_names_the_policy_and_carries_its_scores()
    {
        var problem = RandomInstances.Create(777, minNodes: 30, maxSubtasks: 6);
        var plan = Untrained.Place(problem).ShouldBeOfType<PlacementPlan>();
        plan.PolicyName.ShouldBe("drl");
        plan.Explanation.ShouldNotBeNull().ShouldContain("GNN");
        plan.RunnersUp.Count.ShouldBe(problem.Subtasks.Count);
        plan.Objective.ShouldBe(new PlacementObjective(problem).Evaluate(plan.Assignment));
    }

    [Fact]
    public void Shipped_model_loads_by_default()
    {
        var policy = DrlPlacementPolicy.Load();
        policy.HasModel.ShouldBeTrue(policy.Description);
    }
}
