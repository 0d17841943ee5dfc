namespace ComputeNet.Actors.Placement.Learning;

/// <summary>
/// The GNN-DRL placement policy (泛在调度, issue 8) behind the common policy interface. The trained
/// network ranks the feasible candidates of each subtask; the greedy policies' search skeleton
/// supplies the rest (grading order, latency-pruned candidates, the checker's mask, bounded
/// backtracking), so the plan is feasible by construction and re-validated like any other.
/// Without a model it hands the decision to <see cref="FallbackPolicyName"/> and says so in
/// <see cref="PlacementResult.Explanation"/>.
/// </summary>
public sealed class DrlPlacementPolicy : IPlacementPolicy
{
    public const string PolicyName = "drl";

    /// <summary>The heuristic with the smallest gap to CP-SAT in the placement benchmark.</summary>
    public const string FallbackPolicyName = "greedy-objective";

    public const string DefaultModelFileName = "placement-drl.bin";

    private readonly object _modelGate = new();
    private readonly GreedyOptions _options;
    private volatile Serving _serving;

    // The model and its description change together (a self-evolving swap), so a decision never mixes two.
    private sealed record Serving(PlacementGnn? Model, string Description);

    public DrlPlacementPolicy(PlacementGnn? model, string description, GreedyOptions? options = null)
    {
        _serving = new Serving(model, description);
        _options = options ?? new GreedyOptions(CandidateLimit: EnvironmentOptions.Default.CandidateLimit);
    }

    /// <summary>The model shipped next to the executable (models/placement-drl.bin).</summary>
    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, "models", DefaultModelFileName);

    public string Name => PolicyName;

    public bool HasModel => _serving.Model is not null;

    /// <summary>Which model serves, or why none does.</summary>
    public string Description => _serving.Description;

    /// <summary>The serving model (null when falling back).</summary>
    public PlacementGnn? Model => _serving.Model;

    /// <summary>When set (self-evolving mode), every decision the network makes is recorded with its outcome.</summary>
    public DecisionRecorder? Recorder { get; set; }

    /// <summary>Serves <paramref name="model"/> from the next decision on (decisions under way finish with the old one).</summary>
    public void Swap(PlacementGnn model, string description)
    {
        model.eval();
        _serving = new Serving(model, description);
    }

    /// <summary>Loads the model file; a missing or unreadable file gives a policy that falls back (see <see cref="Description"/>).</summary>
    public static DrlPlacementPolicy Load(string? path = null, GreedyOptions? options = null)
    {
        path ??= DefaultModelPath;
        if (!File.Exists(path))
            return new DrlPlacementPolicy(null, $"no model file at {path}: falling back to {FallbackPolicyName}", options);
        try
        {
            var model = new PlacementGnn();
            model.LoadWeights(path);
            model.eval();
            return new DrlPlacementPolicy(model, $"model {Path.GetFileName(path)} ({new FileInfo(path).Length / 1024} KiB)", options);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or NotImplementedException)
        {
            return new DrlPlacementPolicy(null, $"model file {path} could not be loaded ({e.Message}): falling back to {FallbackPolicyName}", options);
        }
    }

    /// <summary>
    /// Registers "drl" in the registry; the model is loaded once, when the policy is first asked for (so hosts that
    /// never use it never load TorchSharp). <paramref name="log"/> hears which model serves or why none does.
    /// </summary>
    public static void Register(PolicyRegistry registry, string? modelPath = null, Action<string>? log = null)
    {
        var policy = new Lazy<DrlPlacementPolicy>(() =>
        {
            var loaded = Load(modelPath);
            log?.Invoke($"placement policy {PolicyName}: {loaded.Description}");
            return loaded;
        });
        registry.Register(PolicyName, () => policy.Value);
    }

    public PlacementResult Place(PlacementProblem problem)
    {
        var serving = _serving;
        if (serving.Model is not { } model)
        {
            var fallback = new ObjectiveGreedyPolicy(_options).Place(problem);
            return fallback with { Explanation = $"{PolicyName}: {serving.Description}; decided by {fallback.PolicyName}" };
        }
        var result = new LearnedScorePolicy(this, model, _options).Place(problem);
        Recorder?.Record(problem, result);
        return result with
        {
            Explanation = $"{PolicyName}: {serving.Description}; candidates ranked by the GNN policy (runner-up scores are −logits, lower is better)",
        };
    }

    private float[] Score(PlacementGnn model, CandidateGraph graph, CandidateEmbeddings embeddings)
    {
        lock (_modelGate) return model.Score(graph, embeddings);
    }

    /// <summary>The search skeleton with the network's score: computed once per subtask and partial plan, for all its candidates.</summary>
    private sealed class LearnedScorePolicy(DrlPlacementPolicy owner, PlacementGnn model, GreedyOptions options) : GreedyPolicy(options)
    {
        // Far behind any network score: candidates outside the graph (a widened scan) rank by objective delta after it.
        private const double OutsideGraphOffset = 1e6;

        private int _scoredSubtask = -1;
        private int[] _scoredAssignment = [];
        private readonly Dictionary<int, double> _scores = new();
        private readonly CandidateEmbeddings _embeddings = new();

        public override string Name => PolicyName;

        protected override double Score(GreedyContext context, int k, int v)
        {
            if (k != _scoredSubtask || !context.Plan.Assignment.SequenceEqual(_scoredAssignment))
            {
                _scoredSubtask = k;
                _scoredAssignment = context.Plan.ToArray();
                _scores.Clear();
                var graph = CandidateGraph.Build(context, k, Options.CandidateLimit, context.Plan.PlacedCount, context.Problem.Subtasks.Count);
                var logits = owner.Score(model, graph, _embeddings);
                for (var i = 0; i < graph.Count; i++)
                    if (graph.Mask[i]) _scores[graph.Nodes[i]] = -logits[i];
            }
            return _scores.TryGetValue(v, out var score) ? score : OutsideGraphOffset + context.Objective.Delta(context.Plan, k, v);
        }
    }
}
