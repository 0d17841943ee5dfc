namespace ComputeNet.Actors.Placement.Learning;

/// <param name="CandidateLimit">Candidate nodes per decision (the graph's size bound).</param>
/// <param name="RewardScale">Reward per step = −objective delta × this (deltas are ~0.01–0.1).</param>
/// <param name="RejectionPenalty">Reward when a subtask has no feasible candidate and the app is rejected, per subtask of the app:
/// larger than any step's scaled delta, so that giving up early never pays more than placing everything.</param>
/// <param name="Shaping">Charged on top of each step's objective delta (<see cref="StepShaping.Default"/> when null).</param>
public sealed record EnvironmentOptions(int CandidateLimit = 64, double RewardScale = 10, double RejectionPenalty = 3, ObjectiveWeights? Weights = null,
    StepShaping? Shaping = null)
{
    public static readonly EnvironmentOptions Default = new();

    /// <summary>What a step costs in training: the objective's delta plus the shaping.</summary>
    internal double StepCost(GreedyContext context, int k, int v) =>
        context.Objective.Delta(context.Plan, k, v) + (Shaping ?? StepShaping.Default).Cost(context, k, v);
}

/// <summary>
/// One app's placement as an episode: subtasks one at a time in the grading order (the greedy
/// policies' <see cref="GreedyPolicy.SubtaskOrder"/>), each action a slot of the current
/// <see cref="CandidateGraph"/> whose mask comes from <see cref="FeasibilityChecker"/>; the reward is
/// the negative change of <see cref="PlacementObjective"/> plus the <see cref="StepShaping"/> cost (scaled), and a rejection costs
/// <see cref="EnvironmentOptions.RejectionPenalty"/> per subtask. Pure: no TorchSharp, no clock.
/// </summary>
public sealed class PlacementEnvironment
{
    private readonly EnvironmentOptions _options;
    private readonly int[] _order;
    private int _step;

    public PlacementEnvironment(PlacementProblem problem, EnvironmentOptions? options = null)
    {
        _options = options ?? EnvironmentOptions.Default;
        Context = new GreedyContext(problem, new PartialPlan(problem), _options.Weights ?? ObjectiveWeights.Default);
        _order = GreedyPolicy.SubtaskOrder(problem);
        Observe();
        if (Rejected) TotalReward = -RejectionCost;
    }

    /// <summary>What a rejection of this app costs (already in the reward of the step that leads to it).</summary>
    public double RejectionCost => _options.RejectionPenalty * _order.Length;

    internal GreedyContext Context { get; }

    internal EnvironmentOptions Options => _options;

    public PlacementProblem Problem => Context.Problem;

    /// <summary>The decision to take now; null once the episode is over.</summary>
    public CandidateGraph? Current { get; private set; }

    public bool Done => Current is null;

    /// <summary>True when the episode ended on a subtask with no feasible candidate.</summary>
    public bool Rejected { get; private set; }

    public double TotalReward { get; private set; }

    /// <summary>The complete assignment once the episode is done and not rejected.</summary>
    public int[]? Assignment => Done && !Rejected ? Context.Plan.ToArray() : null;

    /// <summary>Places the current subtask on the candidate in <paramref name="slot"/>; returns the reward.</summary>
    public double Step(int slot)
    {
        var graph = Current ?? throw new InvalidOperationException("The episode is over.");
        if (slot < 0 || slot >= graph.Count || !graph.Mask[slot])
            throw new ArgumentOutOfRangeException(nameof(slot), "The action is masked: the node is infeasible for this subtask.");
        var node = graph.Nodes[slot];
        var reward = -_options.StepCost(Context, graph.Subtask, node) * _options.RewardScale;
        Context.Plan.Assign(graph.Subtask, node);
        _step++;
        Observe();
        if (Rejected) reward -= RejectionCost;
        TotalReward += reward;
        return reward;
    }

    private void Observe()
    {
        if (_step >= _order.Length)
        {
            Current = null;
            return;
        }
        var graph = CandidateGraph.Build(Context, _order[_step], _options.CandidateLimit, _step, _order.Length);
        if (graph.AnyFeasible)
        {
            Current = graph;
            return;
        }
        Current = null;
        Rejected = true;
    }
}
