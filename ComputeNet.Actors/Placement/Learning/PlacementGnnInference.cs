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

    public float[] Score(CandidateGraph graph)
    {
        var n = graph.Count;
        var edges = graph.EdgeSource.Length;
        var x = graph.NodeFeatures;
        var h = new float[n * H];
        for (var i = 0; i < n; i++) _encode.Apply(x.AsSpan(i * CandidateGraph.NodeFeatureCount, CandidateGraph.NodeFeatureCount), h.AsSpan(i * H, H), relu: true);

        var inDegree = new float[n];
        foreach (var t in graph.EdgeTarget) inDegree[t]++;
        var messageInput = new float[H + CandidateGraph.EdgeFeatureCount];
        var message = new float[H];
        var aggregated = new float[n * H];
        var updateInput = new float[2 * H];
        var update = new float[H];
        for (var round = 0; round < _message.Length; round++)
        {
            Array.Clear(aggregated);
            for (var j = 0; j < edges; j++)
            {
                h.AsSpan(graph.EdgeSource[j] * H, H).CopyTo(messageInput);
                graph.EdgeFeatures.AsSpan(j * CandidateGraph.EdgeFeatureCount, CandidateGraph.EdgeFeatureCount).CopyTo(messageInput.AsSpan(H));
                _message[round].Apply(messageInput, message, relu: true);
                var target = aggregated.AsSpan(graph.EdgeTarget[j] * H, H);
                for (var d = 0; d < H; d++) target[d] += message[d];
            }
            var next = new float[n * H];
            for (var i = 0; i < n; i++)
            {
                var own = h.AsSpan(i * H, H);
                own.CopyTo(updateInput);
                var degree = Math.Max(1, inDegree[i]);
                for (var d = 0; d < H; d++) updateInput[H + d] = aggregated[i * H + d] / degree;
                _update[round].Apply(updateInput, update, relu: true);
                for (var d = 0; d < H; d++) next[i * H + d] = own[d] + update[d];
            }
            h = next;
        }

        var summary = new float[2 * H];
        for (var i = 0; i < n; i++)
            for (var d = 0; d < H; d++) summary[d] += h[i * H + d];
        for (var d = 0; d < H; d++) summary[d] /= Math.Max(1, n);
        _global.Apply(graph.GlobalFeatures, summary.AsSpan(H), relu: true);

        var policyInput = new float[3 * H];
        summary.CopyTo(policyInput.AsSpan(H));
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
            h.AsSpan(i * H, H).CopyTo(policyInput);
            _policyHidden.Apply(policyInput, hidden, relu: true);
            _policyOut.Apply(hidden, output, relu: false);
            var score = output[0];
            _skip.Apply(x.AsSpan(i * CandidateGraph.NodeFeatureCount, CandidateGraph.NodeFeatureCount), output, relu: false);
            logits[i] = score + output[0];
        }
        return logits;
    }

    /// <summary>y = W x + b (optionally ReLU), W row-major out × in as TorchSharp stores it.</summary>
    private sealed class Dense
    {
        private readonly float[] _weight;
        private readonly float[] _bias;
        private readonly int _inputs;

        public Dense(Linear linear)
        {
            _weight = linear.weight!.data<float>().ToArray();
            _bias = linear.bias!.data<float>().ToArray();
            _inputs = _weight.Length / _bias.Length;
        }

        public void Apply(ReadOnlySpan<float> input, Span<float> output, bool relu)
        {
            for (var o = 0; o < _bias.Length; o++)
            {
                var value = _bias[o] + Dot(_weight.AsSpan(o * _inputs, _inputs), input);
                output[o] = relu && value < 0 ? 0 : value;
            }
        }

        private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            var sum = Vector<float>.Zero;
            var width = Vector<float>.Count;
            var i = 0;
            for (; i <= a.Length - width; i += width) sum += new Vector<float>(a.Slice(i, width)) * new Vector<float>(b.Slice(i, width));
            var total = Vector.Sum(sum);
            for (; i < a.Length; i++) total += a[i] * b[i];
            return total;
        }
    }
}
