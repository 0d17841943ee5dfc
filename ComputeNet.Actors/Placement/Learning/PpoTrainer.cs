using ComputeNet.Actors.Placement.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace ComputeNet.Actors.Placement.Learning;

/// <param name="Seed">Seeds the network's initial weights and the action sampling.</param>
/// <param name="Epochs">PPO passes over each batch of episodes.</param>
/// <param name="Clip">PPO's clipping range ε of the probability ratio.</param>
/// <param name="Gamma">Discount per step (an episode of arriving apps is a few hundred steps).</param>
/// <param name="Lambda">GAE's λ.</param>
public sealed record TrainingOptions(
    int Seed = 7,
    int Epochs = 4,
    int MinibatchSize = 64,
    double LearningRate = 3e-4,
    double ImitationLearningRate = 1e-3,
    double Gamma = 0.99,
    double Lambda = 0.95,
    double Clip = 0.2,
    double ValueCoefficient = 0.5,
    double EntropyCoefficient = 0.01,
    double MaxGradNorm = 0.5,
    EnvironmentOptions? Environment = null);

/// <summary>What one PPO update saw and did.</summary>
public sealed record TrainingUpdate(int Episodes, int Steps, double MeanEpisodeReward, double RejectionRate, double PolicyLoss, double ValueLoss, double Entropy);

/// <summary>
/// PPO with the clipped objective and GAE (Schulman et al. 2017) on <see cref="PlacementEnvironment"/>
/// episodes: sample one episode per given problem with the current policy, then
/// <see cref="TrainingOptions.Epochs"/> passes of minibatch updates. Runs on the CPU in one thread
/// (see <see cref="PlacementGnn"/>). A seed fixes the initial weights, the instances and the sampling;
/// two runs still drift apart slowly, since the native kernels may round the last bit differently by
/// buffer alignment and that can flip a sampled action.
/// </summary>
public sealed class PpoTrainer : IDisposable
{
    private readonly TrainingOptions _options;
    private readonly AdamUpdate _optimizer;
    private readonly AdamUpdate _imitationOptimizer;
    private readonly Random _random;

    // Held for the trainer's life (see PlacementGnn: implicit temporaries can be finalised mid-call).
    private readonly Scalar _clipLow;
    private readonly Scalar _clipHigh;
    private readonly Scalar _valueCoefficient;
    private readonly Scalar _entropyCoefficient;

    public PpoTrainer(PlacementGnn model, TrainingOptions? options = null)
    {
        _options = options ?? new TrainingOptions();
        Model = model;
        _optimizer = new AdamUpdate(model.parameters(), _options.LearningRate);
        _imitationOptimizer = new AdamUpdate(model.parameters(), _options.ImitationLearningRate);
        _random = new Random(_options.Seed);
        _clipLow = 1 - _options.Clip;
        _clipHigh = 1 + _options.Clip;
        _valueCoefficient = _options.ValueCoefficient;
        _entropyCoefficient = _options.EntropyCoefficient;
    }

    public PlacementGnn Model { get; }

    /// <summary>One app per episode.</summary>
    public TrainingUpdate Update(IReadOnlyList<PlacementProblem> problems)
    {
        var steps = new List<Transition>();
        var rewards = new List<double>();
        var rejected = 0;
        Model.eval();
        foreach (var problem in problems)
        {
            var (reward, wasRejected, _) = RunApp(problem, steps);
            if (steps.Count > 0) steps[^1] = steps[^1] with { Last = true };
            rewards.Add(reward);
            if (wasRejected) rejected++;
        }
        return Learn(steps, rewards, rejected, problems.Count);
    }

    /// <summary>
    /// Apps arriving at a fleet per episode, accepted plans committed: the return then carries the
    /// cost of later rejections, so the policy can learn to leave room (e.g. on users' devices) that
    /// a one-step greedy choice takes away.
    /// </summary>
    public TrainingUpdate Update(IReadOnlyList<AppArrivals> episodes)
    {
        var steps = new List<Transition>();
        var rewards = new List<double>();
        int rejected = 0, apps = 0;
        Model.eval();
        foreach (var episode in episodes)
        {
            var fleet = episode.Fleet;
            var total = 0.0;
            foreach (var (app, user) in episode.Apps)
            {
                var problem = InstanceGenerator.Problem(fleet, app, user);
                var before = steps.Count;
                var (reward, wasRejected, assignment) = RunApp(problem, steps);
                // Rejected before any action: the penalty belongs to the decisions that filled the fleet.
                if (wasRejected && steps.Count == before && before > 0 && !steps[before - 1].Last)
                    steps[before - 1] = steps[before - 1] with { Reward = steps[before - 1].Reward + reward };
                total += reward;
                apps++;
                if (wasRejected) rejected++;
                else if (assignment is not null) fleet = fleet.Commit(problem, assignment);
            }
            if (steps.Count > 0 && !steps[^1].Last) steps[^1] = steps[^1] with { Last = true };
            rewards.Add(total);
        }
        return Learn(steps, rewards, rejected, apps);
    }

    private sealed record Transition(CandidateGraph Graph, int Action, float LogProbability, float Value, double Reward, bool Last);

    private (double Reward, bool Rejected, int[]? Assignment) RunApp(PlacementProblem problem, List<Transition> steps)
    {
        var environment = new PlacementEnvironment(problem, _options.Environment);
        while (environment.Current is { } graph)
        {
            var (action, logProbability, value) = Sample(graph);
            var reward = environment.Step(action);
            steps.Add(new Transition(graph, action, logProbability, value, reward, false));
        }
        return (environment.TotalReward, environment.Rejected, environment.Assignment);
    }

    private TrainingUpdate Learn(List<Transition> steps, List<double> rewards, int rejected, int apps)
    {
        if (steps.Count == 0) return new TrainingUpdate(rewards.Count, 0, rewards.DefaultIfEmpty(0).Average(), (double)rejected / Math.Max(1, apps), 0, 0, 0);

        // GAE episode by episode (a step's successor is the next step unless it was the last).
        var advantages = new float[steps.Count];
        var returns = new float[steps.Count];
        var running = 0.0;
        for (var t = steps.Count - 1; t >= 0; t--)
        {
            var nextValue = steps[t].Last ? 0 : _options.Gamma * steps[t + 1].Value;
            if (steps[t].Last) running = 0;
            var delta = steps[t].Reward + nextValue - steps[t].Value;
            running = delta + _options.Gamma * _options.Lambda * running;
            advantages[t] = (float)running;
            returns[t] = (float)(running + steps[t].Value);
        }
        var mean = advantages.Average();
        var std = Math.Sqrt(advantages.Select(a => (a - mean) * (a - mean)).Average()) + 1e-8;
        for (var t = 0; t < advantages.Length; t++) advantages[t] = (float)((advantages[t] - mean) / std);

        Model.train();
        double policyLossSum = 0, valueLossSum = 0, entropySum = 0;
        var batches = 0;
        var indices = Enumerable.Range(0, steps.Count).ToArray();
        for (var epoch = 0; epoch < _options.Epochs; epoch++)
        {
            _random.Shuffle(indices);
            for (var start = 0; start < indices.Length; start += _options.MinibatchSize)
            {
                var chosen = indices.Skip(start).Take(_options.MinibatchSize).ToArray();
                using var scope = NewDisposeScope();
                using var batch = GraphBatch.From(chosen.Select(i => steps[i].Graph).ToArray());
                var (logits, values) = Model.forward(batch);
                var logProbabilities = nn.functional.log_softmax(logits, 1);
                var actions = tensor(chosen.Select(i => (long)steps[i].Action).ToArray()).unsqueeze(1);
                var logProbability = logProbabilities.gather(1, actions).squeeze(1);
                var ratio = (logProbability - tensor(chosen.Select(i => steps[i].LogProbability).ToArray())).exp();
                var advantage = tensor(chosen.Select(i => advantages[i]).ToArray());
                var clipped = ratio.clamp(_clipLow, _clipHigh);
                var policyLoss = -minimum(ratio * advantage, clipped * advantage).mean();
                var valueLoss = nn.functional.mse_loss(values, tensor(chosen.Select(i => returns[i]).ToArray()));
                var entropy = -(logProbabilities.exp() * logProbabilities).sum(1).mean();
                var loss = policyLoss + valueLoss.mul(_valueCoefficient) - entropy.mul(_entropyCoefficient);
                _optimizer.ZeroGrad();
                loss.backward();
                nn.utils.clip_grad_norm_(Model.parameters(), _options.MaxGradNorm);
                _optimizer.Step();
                policyLossSum += policyLoss.item<float>();
                valueLossSum += valueLoss.item<float>();
                entropySum += entropy.item<float>();
                batches++;
            }
        }
        Model.eval();
        Model.WeightsChanged();
        return new TrainingUpdate(rewards.Count, steps.Count, rewards.Average(), (double)rejected / Math.Max(1, apps),
            policyLossSum / batches, valueLossSum / batches, entropySum / batches);
    }

    /// <summary>
    /// Behaviour cloning before PPO: cross-entropy towards the candidate with the smallest step cost
    /// (the objective's delta, greedy-objective's step, plus the environment's <see cref="StepShaping"/>),
    /// so that PPO starts from a policy as good as that one-step rule instead of from random scores.
    /// Returns the mean loss.
    /// </summary>
    public double Imitate(IReadOnlyList<PlacementProblem> problems)
    {
        var graphs = new List<CandidateGraph>();
        var targets = new List<long>();
        foreach (var problem in problems)
        {
            var environment = new PlacementEnvironment(problem, _options.Environment);
            while (environment.Current is { } graph)
            {
                var best = -1;
                var bestCost = double.PositiveInfinity;
                for (var i = 0; i < graph.Count; i++)
                {
                    if (!graph.Mask[i]) continue;
                    var cost = environment.Options.StepCost(environment.Context, graph.Subtask, graph.Nodes[i]);
                    if (cost < bestCost) (best, bestCost) = (i, cost);
                }
                graphs.Add(graph);
                targets.Add(best);
                environment.Step(best);
            }
        }
        if (graphs.Count == 0) return 0;
        Model.train();
        var lossSum = 0.0;
        var batches = 0;
        var indices = Enumerable.Range(0, graphs.Count).ToArray();
        for (var epoch = 0; epoch < _options.Epochs; epoch++)
        {
        _random.Shuffle(indices);
        for (var start = 0; start < indices.Length; start += _options.MinibatchSize)
        {
            var chosen = indices.Skip(start).Take(_options.MinibatchSize).ToArray();
            using var scope = NewDisposeScope();
            using var batch = GraphBatch.From(chosen.Select(i => graphs[i]).ToArray());
            var (logits, _) = Model.forward(batch);
            var loss = nn.functional.cross_entropy(logits, tensor(chosen.Select(i => targets[i]).ToArray()));
            _imitationOptimizer.ZeroGrad();
            loss.backward();
            nn.utils.clip_grad_norm_(Model.parameters(), _options.MaxGradNorm);
            _imitationOptimizer.Step();
            lossSum += loss.item<float>();
            batches++;
        }
        }
        Model.eval();
        Model.WeightsChanged();
        return lossSum / batches;
    }

    /// <summary>Mean episode reward of the greedy (arg-max) policy on the problems, without learning.</summary>
    public static double MeanGreedyReward(PlacementGnn model, IReadOnlyList<PlacementProblem> problems, EnvironmentOptions? environment = null)
    {
        model.eval();
        var total = 0.0;
        foreach (var problem in problems)
        {
            var episode = new PlacementEnvironment(problem, environment);
            while (episode.Current is { } graph) episode.Step(ArgMax(model.Score(graph), graph.Mask));
            total += episode.TotalReward;
        }
        return total / Math.Max(1, problems.Count);
    }

    internal static int ArgMax(float[] scores, bool[] mask)
    {
        var best = -1;
        for (var i = 0; i < scores.Length; i++)
            if (mask[i] && (best < 0 || scores[i] > scores[best])) best = i;
        return best;
    }

    private (int Action, float LogProbability, float Value) Sample(CandidateGraph graph)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var batch = GraphBatch.From([graph]);
        var (logits, value) = Model.forward(batch);
        var scores = logits.data<float>().ToArray();
        var probabilities = PlacementGnn.Probabilities(scores, graph.Mask);
        var draw = _random.NextDouble();
        var action = -1;
        for (var i = 0; i < probabilities.Length; i++)
        {
            if (!graph.Mask[i]) continue;
            action = i;
            draw -= probabilities[i];
            if (draw <= 0) break;
        }
        return (action, (float)Math.Log(Math.Max(1e-12, probabilities[action])), value.item<float>());
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _imitationOptimizer.Dispose();
        foreach (var scalar in new[] { _clipLow, _clipHigh, _valueCoefficient, _entropyCoefficient }) scalar.Dispose();
    }
}
