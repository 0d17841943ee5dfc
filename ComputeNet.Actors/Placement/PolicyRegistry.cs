namespace ComputeNet.Actors.Placement;

/// <summary>
/// Policies by name, selectable per app or by configuration. A learned policy (issue 8) registers
/// itself here with <see cref="Register"/> under its own name.
/// </summary>
public sealed class PolicyRegistry
{
    private readonly Dictionary<string, Func<IPlacementPolicy>> _factories = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The built-in heuristics and the CP-SAT reference.</summary>
    public static PolicyRegistry CreateDefault(GreedyOptions? greedy = null, CpSatOptions? cpSat = null)
    {
        var registry = new PolicyRegistry();
        registry.Register("first-fit", () => new FirstFitPolicy(greedy));
        registry.Register("best-fit", () => new BestFitPolicy(greedy));
        registry.Register("kubernetes", () => new KubernetesScorerPolicy(greedy));
        registry.Register("edgewards", () => new EdgewardsPolicy(greedy));
        registry.Register("greedy-objective", () => new ObjectiveGreedyPolicy(greedy));
        registry.Register("cp-sat", () => new CpSatPolicy(cpSat));
        return registry;
    }

    public IReadOnlyCollection<string> Names => _factories.Keys;

    /// <summary>The heuristics only (everything but the exact reference).</summary>
    public IEnumerable<string> HeuristicNames => _factories.Keys.Where(n => !n.Equals("cp-sat", StringComparison.OrdinalIgnoreCase));

    public void Register(string name, Func<IPlacementPolicy> factory) => _factories[name] = factory;

    public bool TryGet(string name, out IPlacementPolicy policy)
    {
        if (_factories.TryGetValue(name, out var factory))
        {
            policy = factory();
            return true;
        }
        policy = null!;
        return false;
    }

    public IPlacementPolicy Get(string name) =>
        TryGet(name, out var policy)
            ? policy
            : throw new KeyNotFoundException($"Unknown placement policy '{name}'. Known: {string.Join(", ", Names)}.");
}
