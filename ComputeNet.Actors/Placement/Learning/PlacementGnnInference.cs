using System.Numerics;
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
    /// nodes' state before the decision) are taken from <paramref name="embeddings"/> when the same
    /// candidate set was embedded earlier in this decision; only the per-subtask head runs every step.
    /// </summary>
    public float[] Score(CandidateGraph graph, CandidateEmbeddings? embeddings = null)
    {
        var n = graph.Count;
        var x = graph.NodeFeatures;
        const int f = CandidateGraph.NodeFeatureCount;
        const int s = CandidateGraph.StaticFeatureCount;
        const int step = CandidateGraph.StepFeatureCount;
        var (h, pooled) = embeddings is null ? Embed(graph) : embeddings.GetOrAdd(this, graph, Embed);

        // The summary's share of the policy's hidden layer is the same for every candidate.
        var global = new float[H];
        _global.Apply(graph.GlobalFeatures, global, relu: true);
        var shared = new float[H];
        _policyHidden.Bias.CopyTo(shared);
        _policyHidden.Accumulate(pooled, H + step, shared);
        _policyHidden.Accumulate(global, 2 * H + step, shared);
        var hidden = new float[H];
        var output = new float[1];
        var logits = new float[n];
        for (var i = 0; i < n; i++)
        {
            if (!graph.Mask[i])
            {
                logits[i] = MaskedLogit;
                continue;
            }
            shared.CopyTo(hidden);
            _policyHidden.Accumulate(h.AsSpan(i * H, H), 0, hidden);
            _policyHidden.Accumulate(x.AsSpan(i * f + s, step), H, hidden);
            for (var d = 0; d < H; d++) hidden[d] = Math.Max(0, hidden[d]);
            _policyOut.Apply(hidden, output, relu: false);
            var score = output[0];
            _skip.Apply(x.AsSpan(i * f, f), output, relu: false);
            logits[i] = score + output[0];
        }
        return logits;
    }

    /// <summary>Node embeddings (Count × Hidden) and their mean: from the static columns and the links only.</summary>
    private (float[] Embeddings, float[] Pooled) Embed(CandidateGraph graph)
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
        return (h, pooled);
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

        public void Apply(ReadOnlySpan<float> input, Span<float> output, bool relu)
        {
            Bias.CopyTo(output);
            Accumulate(input, 0, output);
            if (relu) for (var o = 0; o < _outputs; o++) output[o] = Math.Max(0, output[o]);
        }

        /// <summary>output += W[:, offset .. offset + input.Length] · input.</summary>
        public void Accumulate(ReadOnlySpan<float> input, int offset, Span<float> output)
        {
            var width = Vector<float>.Count;
            for (var k = 0; k < input.Length; k++)
            {
                var value = input[k];
                if (value == 0) continue;
                var row = _transposed.AsSpan((offset + k) * _outputs, _outputs);
                var scale = new Vector<float>(value);
                var o = 0;
                for (; o <= _outputs - width; o += width)
                    (new Vector<float>(output.Slice(o, width)) + scale * new Vector<float>(row.Slice(o, width))).CopyTo(output.Slice(o, width));
                for (; o < _outputs; o++) output[o] += value * row[o];
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
    private readonly Dictionary<int[], (float[] Embeddings, float[] Pooled)> _bySet = new(CandidateSetComparer.Instance);
    private object? _weights;

    /// <summary>Candidate sets embedded so far (a figure for profiling and tests).</summary>
    public int Sets => _bySet.Count;

    internal (float[] Embeddings, float[] Pooled) GetOrAdd(object weights, CandidateGraph graph, Func<CandidateGraph, (float[], float[])> embed)
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
