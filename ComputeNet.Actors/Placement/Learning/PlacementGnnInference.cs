using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp.Modules;

namespace ComputeNet.Actors.Placement.Learning;

/// <summary>
/// The serving path of <see cref="PlacementGnn"/>: the same forward pass for one graph on plain
/// arrays copied from the trained weights. A decision scores tens of small graphs, where the native
/// library's per-operation overhead (tensor creation, dispatch) costs more than the arithmetic;
/// a test holds this path equal to the TorchSharp forward. Immutable, so safe to share between threads.
/// </summary>
internal sealed class PlacementGnnInference
{
    private const int H = PlacementGnn.Hidden;
    private const float MaskedLogit = -1e9f;

    private readonly Dense _encode;
    private readonly Dense[] _message;
    private readonly Dense[] _update;
    private readonly Dense _global;
    private readonly Dense _policyHidden;
    private readonly Dense _policyOut;
    private readonly Dense _skip;

    public PlacementGnnInference(Linear encode, IEnumerable<Linear> message, IEnumerable<Linear> update, Linear global,
        Linear policyHidden, Linear policyOut, Linear skip)
    {
        _encode = new Dense(encode);
        _message = [.. message.Select(l => new Dense(l))];
        _update = [.. update.Select(l => new Dense(l))];
        _global = new Dense(global);
        _policyHidden = new Dense(policyHidden);
        _policyOut = new Dense(policyOut);
        _skip = new Dense(skip);
    }

    /// <summary>
    /// Scores one decision step. The candidate embeddings (encoder and message passing over the
    /// nodes' state before the decision, and their share of the head) are taken from
    /// <paramref name="embeddings"/> when the same candidate set was embedded earlier in this decision;
    /// per step only the subtask's columns pass through the head.
    /// </summary>
    public float[] Score(CandidateGraph graph, CandidateEmbeddings? embeddings = null)
    {
        var n = graph.Count;
        var x = graph.NodeFeatures;
        const int f = CandidateGraph.NodeFeatureCount;
        const int s = CandidateGraph.StaticFeatureCount;
        const int step = CandidateGraph.StepFeatureCount;
        var embedded = embeddings is null ? Embed(graph) : embeddings.GetOrAdd(this, graph, Embed);

        // The summary's share of the policy's hidden layer is the same for every candidate.
        Span<float> global = stackalloc float[H];
        _global.Apply(graph.GlobalFeatures, global, relu: true);
        Span<float> shared = stackalloc float[H];
        _policyHidden.Bias.CopyTo(shared);
        _policyHidden.Accumulate(embedded.Pooled, H + step, shared);
        _policyHidden.Accumulate(global, 2 * H + step, shared);
        Span<float> hidden = stackalloc float[H];
        Span<float> output = stackalloc float[1];
        var outputWeights = _policyOut.SingleOutputWeights;
        var outputBias = _policyOut.Bias[0];
        var logits = new float[n];
        for (var i = 0; i < n; i++)
        {
            if (!graph.Mask[i])
            {
                logits[i] = MaskedLogit;
                continue;
            }
            var fromEmbedding = embedded.HeadInput.AsSpan(i * H, H);
            for (var d = 0; d < H; d++) hidden[d] = shared[d] + fromEmbedding[d];
            var columns = x.AsSpan(i * f + s, step);
            _policyHidden.Accumulate(columns, H, hidden);
            var score = outputBias;
            for (var d = 0; d < H; d++) score += outputWeights[d] * Math.Max(0, hidden[d]);
            output[0] = embedded.StaticSkip[i];
            _skip.Accumulate(columns, s, output);
            logits[i] = score + output[0];
        }
        return logits;
    }

    /// <summary>
    /// The node embeddings' mean and their (and the node-state columns') share of the head:
    /// from the static columns and the links only.
    /// </summary>
    private CandidateEmbedding Embed(CandidateGraph graph)
    {
        var n = graph.Count;
        var edges = graph.EdgeSource.Length;
        var x = graph.NodeFeatures;
        const int f = CandidateGraph.NodeFeatureCount;
        const int s = CandidateGraph.StaticFeatureCount;
        const int ef = CandidateGraph.EdgeFeatureCount;
        var h = new float[n * H];
        for (var i = 0; i < n; i++) _encode.Apply(x.AsSpan(i * f, s), h.AsSpan(i * H, H), relu: true);

        var inDegree = new float[n];
        foreach (var t in graph.EdgeTarget) inDegree[t]++;
        var fromSource = new float[n * H];
        var message = new float[H];
        var aggregated = new float[n * H];
        var update = new float[H];
        for (var round = 0; round < _message.Length; round++)
        {
            // W·[h_src; e] = W_h·h_src + W_e·e: the node part once per node, not once per edge.
            var layer = _message[round];
            Array.Clear(fromSource);
            for (var i = 0; i < n; i++) layer.Accumulate(h.AsSpan(i * H, H), 0, fromSource.AsSpan(i * H, H));
            Array.Clear(aggregated);
            for (var j = 0; j < edges; j++)
            {
                layer.Bias.CopyTo(message);
                var source = fromSource.AsSpan(graph.EdgeSource[j] * H, H);
                for (var d = 0; d < H; d++) message[d] += source[d];
                layer.Accumulate(graph.EdgeFeatures.AsSpan(j * ef, ef), H, message);
                var target = aggregated.AsSpan(graph.EdgeTarget[j] * H, H);
                for (var d = 0; d < H; d++) target[d] += Math.Max(0, message[d]);
            }
            var next = new float[n * H];
            for (var i = 0; i < n; i++)
            {
                var own = h.AsSpan(i * H, H);
                var mean = aggregated.AsSpan(i * H, H);
                var degree = Math.Max(1, inDegree[i]);
                for (var d = 0; d < H; d++) mean[d] /= degree;
                _update[round].Bias.CopyTo(update);
                _update[round].Accumulate(own, 0, update);
                _update[round].Accumulate(mean, H, update);
                for (var d = 0; d < H; d++) next[i * H + d] = own[d] + Math.Max(0, update[d]);
            }
            h = next;
        }

        var pooled = new float[H];
        for (var i = 0; i < n; i++)
            for (var d = 0; d < H; d++) pooled[d] += h[i * H + d];
        for (var d = 0; d < H; d++) pooled[d] /= Math.Max(1, n);

        // What the head computes from the embedding and the node-state columns, the same for every subtask.
        var headInput = new float[n * H];
        var staticSkip = new float[n];
        Span<float> skip = stackalloc float[1];
        for (var i = 0; i < n; i++)
        {
            _policyHidden.Accumulate(h.AsSpan(i * H, H), 0, headInput.AsSpan(i * H, H));
            _skip.Apply(x.AsSpan(i * f, s), skip, relu: false);
            staticSkip[i] = skip[0];
        }
        return new CandidateEmbedding(pooled, headInput, staticSkip);
    }

    /// <summary>
    /// y = W x + b (optionally ReLU). The weights are kept transposed (input-major) so that each input
    /// adds a scaled row to all outputs at once in SIMD lanes, and zero inputs (after ReLU, many) cost nothing.
    /// </summary>
    private sealed class Dense
    {
        private readonly float[] _transposed;
        private readonly int _outputs;

        public Dense(Linear linear)
        {
            var weight = linear.weight!.data<float>().ToArray();
            Bias = linear.bias!.data<float>().ToArray();
            _outputs = Bias.Length;
            var inputs = weight.Length / _outputs;
            _transposed = new float[weight.Length];
            for (var o = 0; o < _outputs; o++)
                for (var k = 0; k < inputs; k++) _transposed[k * _outputs + o] = weight[o * inputs + k];
        }

        public float[] Bias { get; }

        /// <summary>The weight row of a single-output layer (then the transposed store is that row).</summary>
        public ReadOnlySpan<float> SingleOutputWeights =>
            _outputs == 1 ? _transposed : throw new NotSupportedException("The layer has more than one output.");

        public void Apply(ReadOnlySpan<float> input, Span<float> output, bool relu)
        {
            Bias.CopyTo(output);
            Accumulate(input, 0, output);
            if (relu) for (var o = 0; o < _outputs; o++) output[o] = Math.Max(0, output[o]);
        }

        /// <summary>output += W[:, offset .. offset + input.Length] · input.</summary>
        public void Accumulate(ReadOnlySpan<float> input, int offset, Span<float> output)
        {
            // Whole vectors through reinterpreted spans (no per-slice copies), then the tail.
            output = output[.._outputs];
            var vectorOutput = MemoryMarshal.Cast<float, Vector<float>>(output);
            var tail = vectorOutput.Length * Vector<float>.Count;
            for (var k = 0; k < input.Length; k++)
            {
                var value = input[k];
                if (value == 0) continue;
                var row = _transposed.AsSpan((offset + k) * _outputs, _outputs);
                var vectorRow = MemoryMarshal.Cast<float, Vector<float>>(row);
                var scale = new Vector<float>(value);
                for (var i = 0; i < vectorOutput.Length; i++) vectorOutput[i] += scale * vectorRow[i];
                for (var o = tail; o < _outputs; o++) output[o] += value * row[o];
            }
        }
    }
}

/// <summary>
/// One decision's candidate embeddings, by candidate set. Within a decision the fleet state the
/// embeddings see does not change, and consecutive subtasks anchored at the same node share their
/// candidate set, so each set is embedded once. Not thread-safe: one per decision.
/// </summary>
public sealed class CandidateEmbeddings
{
    private readonly Dictionary<int[], CandidateEmbedding> _bySet = new(CandidateSetComparer.Instance);
    private object? _weights;

    /// <summary>Candidate sets embedded so far (a figure for profiling and tests).</summary>
    public int Sets => _bySet.Count;

    internal CandidateEmbedding GetOrAdd(object weights, CandidateGraph graph, Func<CandidateGraph, CandidateEmbedding> embed)
    {
        if (!ReferenceEquals(weights, _weights))
        {
            _bySet.Clear();
            _weights = weights;
        }
        if (_bySet.TryGetValue(graph.Nodes, out var known)) return known;
        return _bySet[graph.Nodes] = embed(graph);
    }
}

/// <param name="Pooled">Mean of the candidate embeddings (Hidden).</param>
/// <param name="HeadInput">Per candidate (Count × Hidden): the policy's hidden layer fed by its embedding, without bias.</param>
/// <param name="StaticSkip">Per candidate: the skip's bias plus its node-state columns' share.</param>
internal sealed record CandidateEmbedding(float[] Pooled, float[] HeadInput, float[] StaticSkip);
