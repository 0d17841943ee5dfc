namespace ComputeNet.Actors.Placement.Learning;

/// <summary>Knobs of the self-evolving mode (a fine-tune round is small on purpose: it shares the host's CPU).</summary>
/// <param name="MaxRecorded">Latest decisions kept; older ones drop out.</param>
/// <param name="MinDecisions">Decisions needed before a round runs.</param>
/// <param name="HeldOutEvery">Every n-th recorded decision is held out for the evaluation and never trained on.</param>
/// <param name="Updates">PPO updates per round.</param>
/// <param name="BatchSize">Decisions replayed per update.</param>
/// <param name="MinImprovement">The candidate must beat the current model's held-out score by this share of its magnitude (noise guard).</param>
public sealed record EvolutionOptions(
    int MaxRecorded = 512,
    int MinDecisions = 32,
    int HeldOutEvery = 4,
    int Updates = 8,
    int BatchSize = 4,
    double LearningRate = 1e-4,
    double MinImprovement = 0.01,
    int Seed = 1);

/// <summary>A decision the learned policy made in the running system and its outcome.</summary>
/// <param name="Problem">What it was asked: the app against the fleet as it was then (replayable).</param>
/// <param name="Accepted">True when the policy found a plan.</param>
/// <param name="Objective">The plan's objective (balance + energy), NaN when rejected.</param>
public sealed record RecordedDecision(PlacementProblem Problem, bool Accepted, double Objective);

/// <summary>The latest decisions, thread-safe (plans are made on the scheduler's thread, rounds read on another).</summary>
public sealed class DecisionRecorder(int capacity)
{
    private readonly Queue<RecordedDecision> _decisions = new();
    private readonly object _gate = new();
    private long _total;

    /// <summary>Decisions recorded since start (also those that dropped out).</summary>
    public long Total
    {
        get { lock (_gate) return _total; }
    }

    public int Count
    {
        get { lock (_gate) return _decisions.Count; }
    }

    public void Record(PlacementProblem problem, PlacementResult result)
    {
        var decision = new RecordedDecision(problem, result is PlacementPlan, result is PlacementPlan plan ? plan.Objective.Total : double.NaN);
        lock (_gate)
        {
            _decisions.Enqueue(decision);
            while (_decisions.Count > capacity) _decisions.Dequeue();
            _total++;
        }
    }

    public IReadOnlyList<RecordedDecision> Snapshot()
    {
        lock (_gate) return [.. _decisions];
    }
}

/// <summary>One fine-tune round: both held-out scores (<see cref="PolicyEvolution.Score"/>, higher is better) and the verdict.</summary>
public sealed record EvolutionRound(double CurrentScore, double CandidateScore, int TrainingDecisions, int HeldOutDecisions, bool Swap, PlacementGnn Candidate);

/// <summary>
/// The self-evolving policy's learning step (泛在调度, "evolve automatically"): fine-tunes a copy of the
/// serving model with PPO on recorded decisions (replayed against the fleet as it was, rewarded by the
/// same objective and rejection penalty as training), then scores both models on held-out recorded
/// decisions and recommends the swap only if the copy is better by a margin. The serving model is only read.
/// </summary>
public static class PolicyEvolution
{
    public static EvolutionRound FineTune(PlacementGnn current, IReadOnlyList<RecordedDecision> decisions, EvolutionOptions options)
    {
        var heldOut = new List<PlacementProblem>();
        var training = new List<PlacementProblem>();
        for (var i = 0; i < decisions.Count; i++) (i % options.HeldOutEvery == 0 ? heldOut : training).Add(decisions[i].Problem);
        if (training.Count == 0 || heldOut.Count == 0)
            throw new ArgumentException($"a round needs decisions to train on and to hold out, got {decisions.Count}", nameof(decisions));

        var candidate = Copy(current);
        using (var trainer = new PpoTrainer(candidate, new TrainingOptions(Seed: options.Seed, LearningRate: options.LearningRate)))
        {
            var random = new Random(options.Seed);
            for (var update = 0; update < options.Updates; update++)
                trainer.Update([.. Enumerable.Range(0, options.BatchSize).Select(_ => training[random.Next(training.Count)])]);
        }
        var currentScore = Score(current, heldOut);
        var candidateScore = Score(candidate, heldOut);
        var swap = candidateScore > currentScore + options.MinImprovement * Math.Max(1e-6, Math.Abs(currentScore));
        return new EvolutionRound(currentScore, candidateScore, training.Count, heldOut.Count, swap, candidate);
    }

    /// <summary>
    /// The model as it serves (inside the search skeleton) on the held-out decisions: mean of −objective for
    /// a plan and −<see cref="EnvironmentOptions.RejectionPenalty"/> per subtask of a rejected app, on the
    /// training reward's scale (<see cref="EnvironmentOptions.RewardScale"/>). Higher is better.
    /// </summary>
    public static double Score(PlacementGnn model, IReadOnlyList<PlacementProblem> heldOut)
    {
        var environment = EnvironmentOptions.Default;
        var policy = new DrlPlacementPolicy(model, "evaluation");
        return heldOut.Average(problem => policy.Place(problem) is PlacementPlan plan
            ? -plan.Objective.Total * environment.RewardScale
            : -environment.RejectionPenalty * problem.Subtasks.Count);
    }

    /// <summary>An independent copy of the weights (the serving model keeps serving while the copy trains).</summary>
    public static PlacementGnn Copy(PlacementGnn model)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) model.save(writer);
        buffer.Position = 0;
        var copy = new PlacementGnn();
        using (var reader = new BinaryReader(buffer)) copy.load(reader);
        copy.WeightsChanged();
        copy.eval();
        return copy;
    }
}
