namespace ComputeNet.Actors.Topology;

/// <summary>A link as path finding sees it: usable in both directions while it is up.</summary>
public sealed record LinkEdge(string Src, string Dst, double LatencyMs, double AvailableMbps, double LossRate, bool Up);

/// <summary>A route between two nodes: its hops, its total latency and its narrowest available bandwidth.</summary>
public sealed record NetworkPath(IReadOnlyList<string> Nodes, double LatencyMs, double BottleneckMbps, double LossRate)
{
    public bool Equals(NetworkPath? other) =>
        other is not null && Nodes.SequenceEqual(other.Nodes) && LatencyMs.Equals(other.LatencyMs)
        && BottleneckMbps.Equals(other.BottleneckMbps) && LossRate.Equals(other.LossRate);

    public override int GetHashCode() => HashCode.Combine(Nodes.Count, LatencyMs);
}

/// <summary>
/// Pure: shortest-latency paths over the links that are up (Dijkstra, O(E log V)). Topology Zoo-sized
/// networks answer in microseconds, so the topology recomputes on every query instead of caching paths
/// that every telemetry window would invalidate.
/// </summary>
public static class NetworkGraph
{
    public static NetworkPath? ShortestLatencyPath(IEnumerable<LinkEdge> links, string from, string to)
    {
        if (from == to) return new NetworkPath([from], 0, double.PositiveInfinity, 0);

        var adjacency = new Dictionary<string, List<LinkEdge>>(StringComparer.Ordinal);
        foreach (var link in links)
        {
            if (!link.Up || !double.IsFinite(link.LatencyMs) || link.LatencyMs < 0) continue;
            Add(link.Src, link);
            Add(link.Dst, link);
        }
        if (!adjacency.ContainsKey(from) || !adjacency.ContainsKey(to)) return null;

        var distance = new Dictionary<string, double>(StringComparer.Ordinal) { [from] = 0 };
        var previous = new Dictionary<string, (string Node, LinkEdge Via)>(StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var queue = new PriorityQueue<string, double>();
        queue.Enqueue(from, 0);
        while (queue.TryDequeue(out var node, out var d))
        {
            if (!done.Add(node)) continue;
            if (node == to) break;
            foreach (var link in adjacency[node])
            {
                var next = link.Src == node ? link.Dst : link.Src;
                var candidate = d + link.LatencyMs;
                if (done.Contains(next) || (distance.TryGetValue(next, out var known) && known <= candidate)) continue;
                distance[next] = candidate;
                previous[next] = (node, link);
                queue.Enqueue(next, candidate);
            }
        }
        if (!distance.TryGetValue(to, out var total)) return null;

        var hops = new List<string> { to };
        var bottleneck = double.PositiveInfinity;
        var delivered = 1.0;
        for (var at = to; at != from;)
        {
            var (prior, via) = previous[at];
            bottleneck = Math.Min(bottleneck, via.AvailableMbps);
            delivered *= 1 - via.LossRate;
            hops.Add(prior);
            at = prior;
        }
        hops.Reverse();
        return new NetworkPath(hops, total, bottleneck, 1 - delivered);

        void Add(string node, LinkEdge link)
        {
            if (!adjacency.TryGetValue(node, out var list)) adjacency[node] = list = [];
            list.Add(link);
        }
    }
}
