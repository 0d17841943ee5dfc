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

    private readonly GreedyOptions _options;
    private volatile Serving _serving;

    // The model and its description change together (a self-evolving swap), so a decision never mixes two.
    private sealed record Serving(PlacementGnn? Model, string Description);

    public DrlPlacementPolicy(PlacementGnn? model, string description, GreedyOptions? options = null)
    {
        _serving = new Serving(model, description);
        // Half the heuristics' check budget: every check here also feeds a network pass, and with the heuristics'
        // budget the learned policy's slowest (hopeless) 1k-node decisions took 17 ms and it accepted fewer apps under rising load.
        _options = options ?? new GreedyOptions(CandidateLimit: EnvironmentOptions.Default.CandidateLimit, CheckBudgetFactor: 2);
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
        var result = new LearnedScorePolicy(model, _options).Place(problem);
        Recorder?.Record(problem, result);
        return result with
        {
            Explanation = $"{PolicyName}: {serving.Description}; candidates ranked by the GNN policy (runner-up scores are −logits, lower is better)",
        };
    }

    /// <summary>
    /// The search skeleton with the network's scores: one pass per subtask and partial plan over the candidates
    /// the search has checked, the candidate embeddings shared by the decision's subtasks.
    /// </summary>
    private sealed class LearnedScorePolicy(PlacementGnn model, GreedyOptions options) : GreedyPolicy(options)
    {
        // Far behind any network score: candidates outside the graph (a widened scan) rank by objective delta after it.
        private const double OutsideGraphOffset = 1e6;

        private readonly CandidateEmbeddings _embeddings = new();

        public override string Name => PolicyName;

        /// <summary>A candidate the network did not see (past the graph's limit in a widened scan).</summary>
        protected override double Score(GreedyContext context, int k, int v) =>
            OutsideGraphOffset + context.Objective.Delta(context.Plan, k, v);

        protected override void ScoreFeasible(GreedyContext context, int k, IReadOnlyList<int> candidates, bool[] feasible, bool widened, double[] scores)
        {
            var graph = CandidateGraph.FromCheckedCandidates(context, k, candidates, feasible, widened, Options.CandidateLimit,
                context.Plan.PlacedCount, context.Problem.Subtasks.Count);
            var logits = model.Score(graph, _embeddings);
            // The graph's nodes are a subsequence of the candidates (a prefix, or the first feasible ones), all distinct.
            var slot = 0;
            for (var i = 0; i < candidates.Count; i++)
            {
                var inGraph = slot < graph.Count && graph.Nodes[slot] == candidates[i];
                if (feasible[i]) scores[i] = inGraph ? -logits[slot] : Score(context, k, candidates[i]);
                if (inGraph) slot++;
            }
        }
    }
}
