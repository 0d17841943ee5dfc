using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ComputeNet.Actors.Placement.Learning;

/// <summary>
/// Several <see cref="CandidateGraph"/>s as one disjoint graph: node rows of all graphs stacked,
/// edges offset, and each node's slot in a padded (graphs × max candidates) layout for the softmax.
/// </summary>
public sealed class GraphBatch : IDisposable
{
    private GraphBatch(Tensor nodeFeatures, Tensor edgeSource, Tensor edgeTarget, Tensor edgeFeatures,
        Tensor graphOfNode, Tensor paddedSlot, Tensor globalFeatures, Tensor mask, int graphs, int width)
    {
        NodeFeatures = nodeFeatures;
        EdgeSource = edgeSource;
        EdgeTarget = edgeTarget;
        EdgeFeatures = edgeFeatures;
        GraphOfNode = graphOfNode;
        PaddedSlot = paddedSlot;
        GlobalFeatures = globalFeatures;
        Mask = mask;
        Graphs = graphs;
        Width = width;
    }

    public Tensor NodeFeatures { get; }
    public Tensor EdgeSource { get; }
    public Tensor EdgeTarget { get; }
    public Tensor EdgeFeatures { get; }
    public Tensor GraphOfNode { get; }
    public Tensor PaddedSlot { get; }
    public Tensor GlobalFeatures { get; }

    /// <summary>graphs × width: true for feasible candidates.</summary>
    public Tensor Mask { get; }

    public int Graphs { get; }

    /// <summary>The largest candidate count in the batch.</summary>
    public int Width { get; }

    public static GraphBatch From(IReadOnlyList<CandidateGraph> graphs)
    {
        var width = Math.Max(1, graphs.Max(g => g.Count));
        var totalNodes = graphs.Sum(g => g.Count);
        var totalEdges = graphs.Sum(g => g.EdgeSource.Length);
        var x = new float[totalNodes * CandidateGraph.NodeFeatureCount];
        var graphOf = new long[totalNodes];
        var slot = new long[totalNodes];
        var source = new long[totalEdges];
        var target = new long[totalEdges];
        var e = new float[totalEdges * CandidateGraph.EdgeFeatureCount];
        var global = new float[graphs.Count * CandidateGraph.GlobalFeatureCount];
        var mask = new bool[graphs.Count * width];
        int nodeOffset = 0, edgeOffset = 0;
        for (var b = 0; b < graphs.Count; b++)
        {
            var g = graphs[b];
            g.NodeFeatures.CopyTo(x, nodeOffset * CandidateGraph.NodeFeatureCount);
            g.EdgeFeatures.CopyTo(e, edgeOffset * CandidateGraph.EdgeFeatureCount);
            g.GlobalFeatures.CopyTo(global, b * CandidateGraph.GlobalFeatureCount);
            for (var i = 0; i < g.Count; i++)
            {
                graphOf[nodeOffset + i] = b;
                slot[nodeOffset + i] = (long)b * width + i;
                mask[b * width + i] = g.Mask[i];
            }
            for (var j = 0; j < g.EdgeSource.Length; j++)
            {
                source[edgeOffset + j] = nodeOffset + g.EdgeSource[j];
                target[edgeOffset + j] = nodeOffset + g.EdgeTarget[j];
            }
            nodeOffset += g.Count;
            edgeOffset += g.EdgeSource.Length;
        }
        return new GraphBatch(
            tensor(x).reshape(totalNodes, CandidateGraph.NodeFeatureCount),
            tensor(source), tensor(target),
            tensor(e).reshape(totalEdges, CandidateGraph.EdgeFeatureCount),
            tensor(graphOf), tensor(slot),
            tensor(global).reshape(graphs.Count, CandidateGraph.GlobalFeatureCount),
            tensor(mask).reshape(graphs.Count, width),
            graphs.Count, width);
    }

    public void Dispose()
    {
        foreach (var t in new[] { NodeFeatures, EdgeSource, EdgeTarget, EdgeFeatures, GraphOfNode, PaddedSlot, GlobalFeatures, Mask }) t.Dispose();
    }
}

/// <summary>
/// The GNN-DRL network: the nodes' state before the decision (<see cref="CandidateGraph.StaticFeatureCount"/>
/// columns) encoded, <see cref="Rounds"/> rounds of message passing over the candidate graph's links
/// (messages see the link's features: latency, available bandwidth, load), mean-pooled into a graph
/// summary joined with the subtask's global features; the policy head scores each candidate from its
/// embedding and its per-subtask columns against that summary (infeasible ones masked out). The
/// embeddings depend only on the candidate set and the fleet state, so serving computes them once per
/// candidate set and decision, and only the head per subtask. The value head
/// estimates the episode's remaining reward. A linear skip from the raw candidate features to its
/// score lets simple rules (such as "smallest objective delta") be learnt in a few updates, leaving the
/// message passing to learn the corrections.
/// </summary>
public sealed class PlacementGnn : nn.Module<GraphBatch, (Tensor Logits, Tensor Value)>
{
    public const int Hidden = 48;
    public const int Rounds = 2;

    // A masked logit: far below any real one, but finite so that 0 × logit stays 0 in the entropy.
    private const float MaskedLogit = -1e9f;

    // Scalars held for the process's life: an implicit temporary Scalar can be finalised while the
    // native call that received its handle still runs (seen as a libtorch assertion in Scalar::equal).
    private static readonly Scalar One = 1.0f;
    private static readonly Scalar MaskedLogitScalar = MaskedLogit;

    private readonly Linear _encode;
    private readonly ModuleList<Linear> _message;
    private readonly ModuleList<Linear> _update;
    private readonly Linear _global;
    private readonly Linear _policyHidden;
    private readonly Linear _policyOut;
    private readonly Linear _skip;
    private readonly Linear _valueHidden;
    private readonly Linear _valueOut;

    // One intra-op thread: multi-threaded reductions may sum in a different order from call to call,
    // and identical inputs must give bit-identical scores (the graphs are too small to gain from threads).
    static PlacementGnn() => set_num_threads(1);

    public PlacementGnn() : base(nameof(PlacementGnn))
    {
        _encode = nn.Linear(CandidateGraph.StaticFeatureCount, Hidden);
        _message = nn.ModuleList(Enumerable.Range(0, Rounds).Select(_ => nn.Linear(Hidden + CandidateGraph.EdgeFeatureCount, Hidden)).ToArray());
        _update = nn.ModuleList(Enumerable.Range(0, Rounds).Select(_ => nn.Linear(2 * Hidden, Hidden)).ToArray());
        _global = nn.Linear(CandidateGraph.GlobalFeatureCount, Hidden);
        _policyHidden = nn.Linear(Hidden + CandidateGraph.StepFeatureCount + 2 * Hidden, Hidden);
        _policyOut = nn.Linear(Hidden, 1);
        _skip = nn.Linear(CandidateGraph.NodeFeatureCount, 1);
        _valueHidden = nn.Linear(2 * Hidden, Hidden);
        _valueOut = nn.Linear(Hidden, 1);
        RegisterComponents();
    }

    public override (Tensor Logits, Tensor Value) forward(GraphBatch batch)
    {
        var nodes = batch.NodeFeatures.shape[0];
        var h = nn.functional.relu(_encode.forward(batch.NodeFeatures.narrow(1, 0, CandidateGraph.StaticFeatureCount)));
        using var inDegree = zeros(nodes).index_add(0, batch.EdgeTarget, ones(batch.EdgeTarget.shape[0]), One).clamp_min(One).unsqueeze(1);
        for (var round = 0; round < Rounds; round++)
        {
            var messages = nn.functional.relu(_message[round].forward(cat([h.index_select(0, batch.EdgeSource), batch.EdgeFeatures], 1)));
            var aggregated = zeros(nodes, Hidden).index_add(0, batch.EdgeTarget, messages, One) / inDegree;
            h = h + nn.functional.relu(_update[round].forward(cat([h, aggregated], 1)));
        }
        var counts = zeros(batch.Graphs).index_add(0, batch.GraphOfNode, ones(nodes), One).clamp_min(One).unsqueeze(1);
        var pooled = zeros(batch.Graphs, Hidden).index_add(0, batch.GraphOfNode, h, One) / counts;
        var summary = cat([pooled, nn.functional.relu(_global.forward(batch.GlobalFeatures))], 1);
        var candidate = cat([h, batch.NodeFeatures.narrow(1, CandidateGraph.StaticFeatureCount, CandidateGraph.StepFeatureCount)], 1);
        var width = Hidden + CandidateGraph.StepFeatureCount;
        var padded = zeros(batch.Graphs * batch.Width, width).index_copy(0, batch.PaddedSlot, candidate).reshape(batch.Graphs, batch.Width, width);
        var context = summary.unsqueeze(1).expand(batch.Graphs, batch.Width, 2 * Hidden);
        var skip = zeros(batch.Graphs * batch.Width, 1).index_copy(0, batch.PaddedSlot, _skip.forward(batch.NodeFeatures)).reshape(batch.Graphs, batch.Width);
        var logits = _policyOut.forward(nn.functional.relu(_policyHidden.forward(cat([padded, context], 2)))).squeeze(-1) + skip;
        logits = logits.masked_fill(batch.Mask.logical_not(), MaskedLogitScalar);
        var value = _valueOut.forward(nn.functional.relu(_valueHidden.forward(summary))).squeeze(-1);
        return (logits, value);
    }

    /// <summary>A fresh network whose initial weights depend only on the seed.</summary>
    public static PlacementGnn Create(int seed)
    {
        manual_seed(seed);
        return new PlacementGnn();
    }

    /// <summary>
    /// Candidate scores (logits) for one decision step, in slot order; masked slots are very negative.
    /// <paramref name="embeddings"/> (one per decision) lets steps with the same candidate set share their embeddings.
    /// Served by <see cref="PlacementGnnInference"/> from a snapshot of the weights taken at the first
    /// call after the weights last changed (training calls <see cref="WeightsChanged"/>).
    /// </summary>
    public float[] Score(CandidateGraph graph, CandidateEmbeddings? embeddings = null)
    {
        var inference = _inference;
        if (inference is null)
        {
            // Concurrent decisions share one snapshot; the weights are read from the native tensors once.
            lock (_inferenceGate)
            {
                using var noGrad = no_grad();
                _inference = inference = _inference ?? new PlacementGnnInference(_encode, _message, _update, _global, _policyHidden, _policyOut, _skip);
            }
        }
        return inference.Score(graph, embeddings);
    }

    /// <summary>The TorchSharp forward for one graph (what training differentiates); equal to <see cref="Score"/>.</summary>
    public float[] ScoreWithTorch(CandidateGraph graph)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var batch = GraphBatch.From([graph]);
        var (logits, _) = forward(batch);
        return logits.data<float>().ToArray()[..graph.Count];
    }

    /// <summary>Drops the serving snapshot after an optimiser step.</summary>
    public void WeightsChanged() => _inference = null;

    /// <summary>Loads weights saved with <c>save</c> (same architecture).</summary>
    public PlacementGnn LoadWeights(string path)
    {
        load(path);
        WeightsChanged();
        return this;
    }

    private volatile PlacementGnnInference? _inference;
    private readonly object _inferenceGate = new();

    /// <summary>Softmax over feasible candidates only (probability 0 where masked).</summary>
    public static double[] Probabilities(float[] logits, bool[] mask)
    {
        var max = double.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++) if (mask[i]) max = Math.Max(max, logits[i]);
        var p = new double[logits.Length];
        var sum = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            if (!mask[i]) continue;
            p[i] = Math.Exp(logits[i] - max);
            sum += p[i];
        }
        for (var i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }
}
