using Akka.Actor;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Generation;
using ComputeNet.Actors.Placement.Learning;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement.Learning;

/// <summary>The self-evolving mode: recorded decisions fine-tune a copy, which replaces the serving model only if it scores better.</summary>
public sealed class PolicyEvolutionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    // Enough updates, at a learning rate high enough, for an untrained network to learn something in one round.
    private static readonly EvolutionOptions Round = new(MinDecisions: 8, HeldOutEvery: 4, Updates: 24, BatchSize: 4, LearningRate: 3e-3, Seed: 5);

    // The deliberately weakened model: the shipped one with seeded noise on every weight (σ 0.5), which
    // costs it objective and rejections that a round of fine-tuning on the recorded decisions wins back.
    private static PlacementGnn Weakened()
    {
        var model = DrlPlacementPolicy.Load().Model.ShouldNotBeNull();
        TorchSharp.torch.manual_seed(23);
        using (TorchSharp.torch.no_grad())
            foreach (var parameter in model.parameters())
                parameter.add_(TorchSharp.torch.randn_like(parameter).mul_(0.5));
        model.WeightsChanged();
        return model;
    }

    /// <summary>The policy serving <paramref name="model"/> makes decisions on generated apps and records them.</summary>
    private static DrlPlacementPolicy RecordingPolicy(PlacementGnn model, int decisions = 24)
    {
        var policy = new DrlPlacementPolicy(model, "test model") { Recorder = new DecisionRecorder(64) };
        var topology = InstanceGenerator.RandomTopology(31, 30);
        foreach (var problem in new TrainingInstances([topology], seed: 31, minSubtasks: 3, maxSubtasks: 8).Take(decisions)) policy.Place(problem);
        return policy;
    }

    [Fact]
    public void Decisions_are_recorded_with_their_outcome_and_the_oldest_drop_out()
    {
        var policy = RecordingPolicy(Weakened(), decisions: 70);
        var recorder = policy.Recorder.ShouldNotBeNull();
        recorder.Total.ShouldBe(70);
        recorder.Count.ShouldBe(64);
        foreach (var decision in recorder.Snapshot())
        {
            var again = policy.Place(decision.Problem);
            decision.Accepted.ShouldBe(again is PlacementPlan);
            if (again is PlacementPlan plan) decision.Objective.ShouldBe(plan.Objective.Total);
            else double.IsNaN(decision.Objective).ShouldBeTrue();
        }
    }

    [Fact]
    public void A_weakened_model_is_replaced_by_its_fine_tuned_copy_and_a_better_model_is_kept()
    {
        var weakened = Weakened();
        var decisions = RecordingPolicy(weakened).Recorder!.Snapshot();
        // Round i of the actor uses Seed + i: the same round as the actor test's first.
        var round = PolicyEvolution.FineTune(weakened, decisions, Round with { Seed = Round.Seed + 1 });
        round.HeldOutDecisions.ShouldBe(6);
        round.TrainingDecisions.ShouldBe(18);
        round.Swap.ShouldBeTrue($"held-out score {round.CurrentScore:F3} → {round.CandidateScore:F3}");
        round.CandidateScore.ShouldBeGreaterThan(round.CurrentScore);

        var shipped = DrlPlacementPolicy.Load();
        shipped.HasModel.ShouldBeTrue(shipped.Description);
        var kept = PolicyEvolution.FineTune(shipped.Model!, decisions, Round with { Seed = Round.Seed + 1 });
        kept.Swap.ShouldBeFalse($"held-out score {kept.CurrentScore:F3} → {kept.CandidateScore:F3}");
        // The shipped model is ahead of its weakened copy on the same held-out decisions.
        kept.CurrentScore.ShouldBeGreaterThan(round.CurrentScore);
    }

    [Fact]
    public async Task A_swap_is_persisted_with_both_scores_served_and_restored_after_a_restart()
    {
        using var directory = new TempDirectory();
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, directory.Path);
        var settings = new PolicyEvolutionSettings(TimeSpan.FromHours(1), Path.Combine(directory.Path, "models"), Round);
        var policy = RecordingPolicy(Weakened());
        var weakened = policy.Model;

        var view = await WithEvolution(db, policy, settings, async evolution =>
        {
            evolution.Tell(new PolicyEvolutionActor.EvolveNow());
            return await Eventually.GetAsync(async () =>
                await evolution.Ask<PolicyEvolutionView>(new GetPolicyEvolution(), Timeout) is { Rounds: 1, RoundRunning: false } done ? done : null,
                seconds: 180);
        });

        var swap = view.Swaps.ShouldHaveSingleItem();
        swap.Round.ShouldBe(1);
        swap.CandidateScore.ShouldBeGreaterThan(swap.CurrentScore);
        view.LastCandidateScore.ShouldBe(swap.CandidateScore);
        view.LastCurrentScore.ShouldBe(swap.CurrentScore);
        File.Exists(swap.ModelFile).ShouldBeTrue();
        policy.Model.ShouldNotBeSameAs(weakened);
        policy.Description.ShouldContain("self-evolved in round 1");

        // A new actor system recovers the swap from the journal and serves the swapped-in model again.
        var restarted = new DrlPlacementPolicy(Weakened(), "test model (restarted)") { Recorder = new DecisionRecorder(64) };
        var recovered = await WithEvolution(db, restarted, settings, evolution => evolution.Ask<PolicyEvolutionView>(new GetPolicyEvolution(), Timeout));
        recovered.Swaps.ShouldBe([swap]);
        restarted.Description.ShouldContain("self-evolved in round 1");
        var problem = RecordingPolicy(Weakened(), decisions: 1).Recorder!.Snapshot()[0].Problem;
        var expected = new DrlPlacementPolicy(new PlacementGnn().LoadWeights(swap.ModelFile), "reloaded").Place(problem);
        var served = restarted.Place(problem);
        served.GetType().ShouldBe(expected.GetType());
        if (expected is PlacementPlan plan) ((PlacementPlan)served).Assignment.ShouldBe(plan.Assignment);
    }

    private static async Task<T> WithEvolution<T>(PersistenceSetup.Resolved db, DrlPlacementPolicy policy, PolicyEvolutionSettings settings,
        Func<IActorRef, Task<T>> use)
    {
        try
        {
            return await HostedActorSystem.RunAsync("evolution", db, system => use(system.ActorOf(PolicyEvolutionActor.Props(policy, settings))));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }
}
