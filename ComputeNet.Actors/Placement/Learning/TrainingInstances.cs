using ComputeNet.Actors.Placement.Generation;

namespace ComputeNet.Actors.Placement.Learning;

/// <summary>Apps arriving one after another at a fleet (one training episode): each accepted plan is committed before the next app.</summary>
public sealed record AppArrivals(Fleet Fleet, IReadOnlyList<(AppSpec App, int UserNode)> Apps);

/// <summary>
/// An endless, seeded stream of placement problems for training and evaluation, from the placement
/// benchmark's generator: each topology grown to at least three times its size (edge and device
/// nodes), in three background-load levels (up to 30%, 60%, 90% of each node used by others), with
/// random DAG apps (and, if given, real apps) arriving at random user nodes.
/// </summary>
public sealed class TrainingInstances
{
    private static readonly double[] BackgroundLoads = [0.3, 0.6, 0.9];

    private readonly IReadOnlyList<ZooTopology> _topologies;
    private readonly IReadOnlyList<AppSpec> _apps;
    private readonly Random _random;
    private readonly int _seed;
    private readonly int _minSubtasks;
    private readonly int _maxSubtasks;
    private readonly Dictionary<(int, int), Fleet> _fleets = new();
    private int _drawn;

    public TrainingInstances(IReadOnlyList<ZooTopology> topologies, int seed, IReadOnlyList<AppSpec>? apps = null, int minSubtasks = 3, int maxSubtasks = 12)
    {
        if (topologies.Count == 0) throw new ArgumentException("At least one topology is needed.", nameof(topologies));
        _topologies = topologies;
        _apps = apps ?? [];
        _seed = seed;
        _random = new Random(seed);
        _minSubtasks = minSubtasks;
        _maxSubtasks = maxSubtasks;
    }

    public PlacementProblem Next()
    {
        var arrivals = NextArrivals(1);
        return InstanceGenerator.Problem(arrivals.Fleet, arrivals.Apps[0].App, arrivals.Apps[0].UserNode);
    }

    /// <summary>A fleet and <paramref name="count"/> apps arriving at it.</summary>
    public AppArrivals NextArrivals(int count)
    {
        var topology = _random.Next(_topologies.Count);
        var load = _random.Next(BackgroundLoads.Length);
        if (!_fleets.TryGetValue((topology, load), out var fleet))
        {
            var nodes = _topologies[topology].Nodes.Count;
            _fleets[(topology, load)] = fleet = InstanceGenerator.BuildFleet(_topologies[topology],
                new GeneratorOptions(Seed: _seed + 1000 * topology + load, TargetNodeCount: Math.Max(60, 3 * nodes), BackgroundLoad: BackgroundLoads[load]));
        }
        var apps = new (AppSpec, int)[count];
        for (var i = 0; i < count; i++)
        {
            var app = _apps.Count > 0 && _random.NextDouble() < 0.25
                ? _apps[_random.Next(_apps.Count)]
                : AppGenerator.RandomDag(_random, _random.Next(_minSubtasks, _maxSubtasks + 1), $"train{_drawn}");
            _drawn++;
            apps[i] = (app, _random.Next(fleet.Nodes.Count));
        }
        return new AppArrivals(fleet, apps);
    }

    public IReadOnlyList<PlacementProblem> Take(int count) => Enumerable.Range(0, count).Select(_ => Next()).ToArray();

    public IReadOnlyList<AppArrivals> TakeArrivals(int episodes, int appsPerEpisode) =>
        Enumerable.Range(0, episodes).Select(_ => NextArrivals(appsPerEpisode)).ToArray();
}

/// <summary>A policy against a reference heuristic on the same problems.</summary>
/// <param name="MeanRelativeImprovement">Mean of (heuristic − policy) / |heuristic| objective over problems both placed; positive = the policy is better.</param>
public sealed record PolicyComparison(
    int Problems,
    string Heuristic,
    double Acceptance,
    double HeuristicAcceptance,
    int BothPlaced,
    double MeanObjective,
    double HeuristicMeanObjective,
    double MeanRelativeImprovement,
    int InfeasiblePlans)
{
    public static PolicyComparison Measure(IPlacementPolicy policy, IPlacementPolicy heuristic, IReadOnlyList<PlacementProblem> problems)
    {
        int accepted = 0, heuristicAccepted = 0, both = 0, infeasible = 0;
        double objective = 0, heuristicObjective = 0, improvement = 0;
        foreach (var problem in problems)
        {
            var mine = policy.Place(problem);
            var theirs = heuristic.Place(problem);
            if (mine is PlacementPlan plan)
            {
                accepted++;
                if (FeasibilityChecker.Default.Validate(problem, plan.Assignment).Count > 0) infeasible++;
            }
            if (theirs is PlacementPlan) heuristicAccepted++;
            if (mine is not PlacementPlan p || theirs is not PlacementPlan h) continue;
            both++;
            objective += p.Objective.Total;
            heuristicObjective += h.Objective.Total;
            improvement += (h.Objective.Total - p.Objective.Total) / Math.Max(1e-9, Math.Abs(h.Objective.Total));
        }
        var count = Math.Max(1, problems.Count);
        return new PolicyComparison(problems.Count, heuristic.Name, (double)accepted / count, (double)heuristicAccepted / count, both,
            both == 0 ? double.NaN : objective / both, both == 0 ? double.NaN : heuristicObjective / both,
            both == 0 ? double.NaN : improvement / both, infeasible);
    }
}
