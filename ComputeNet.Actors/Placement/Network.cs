namespace ComputeNet.Actors.Placement;

/// <summary>
/// The link graph with shortest-latency routing. All-pairs is out of reach at 10,000 nodes, so
/// each source keeps a resumable Dijkstra: a query settles only as far as it needs, and the state
/// is cached per source (bounded; the whole cache is dropped when it grows past the bound).
/// Immutable from the outside; a topology or link change means a new <see cref="Network"/>.
/// </summary>
public sealed class Network
{
    private readonly int[] _adjacencyStart;
    private readonly int[] _adjacencyNode;
    private readonly int[] _adjacencyLink;
    private readonly double[] _routingLatencyMs;
    private readonly LinkSpec[] _links;
    private readonly double[] _availableMbps;
    private readonly Dictionary<int, SourceState> _sources;
    private readonly object _gate;

    public Network(int nodeCount, IReadOnlyList<LinkSpec> links, int maxCachedSources = 1024)
    {
        NodeCount = nodeCount;
        _links = [.. links];
        _availableMbps = _links.Select(l => l.AvailableMbps).ToArray();
        MaxCachedSources = maxCachedSources;
        _sources = new();
        _gate = new();
        var degree = new int[nodeCount + 1];
        foreach (var link in links)
        {
            degree[link.NodeA]++;
            degree[link.NodeB]++;
        }
        // A tiny distinct perturbation per link makes shortest paths unique, so the route from a to b
        // is the reverse of the route from b to a and link loads agree whichever end routes.
        _routingLatencyMs = new double[links.Count];
        for (var l = 0; l < links.Count; l++)
            _routingLatencyMs[l] = links[l].LatencyMs + 1e-7 * ((uint)(l * 2654435761u) / (double)uint.MaxValue);
        _adjacencyStart = new int[nodeCount + 1];
        for (var v = 0; v < nodeCount; v++) _adjacencyStart[v + 1] = _adjacencyStart[v] + degree[v];
        _adjacencyNode = new int[_adjacencyStart[nodeCount]];
        _adjacencyLink = new int[_adjacencyStart[nodeCount]];
        var fill = (int[])_adjacencyStart.Clone();
        for (var l = 0; l < links.Count; l++)
        {
            var link = links[l];
            _adjacencyNode[fill[link.NodeA]] = link.NodeB;
            _adjacencyLink[fill[link.NodeA]++] = l;
            _adjacencyNode[fill[link.NodeB]] = link.NodeA;
            _adjacencyLink[fill[link.NodeB]++] = l;
        }
    }

    // Same topology and latencies, new link usage: routes do not change, so the path cache is shared.
    // Takes ownership of the array; only the links in changedLinks (all when null) need their availability recomputed.
    private Network(Network original, LinkSpec[] links, IEnumerable<int>? changedLinks = null)
    {
        NodeCount = original.NodeCount;
        _links = links;
        if (changedLinks is null) _availableMbps = _links.Select(l => l.AvailableMbps).ToArray();
        else
        {
            _availableMbps = (double[])original._availableMbps.Clone();
            foreach (var l in changedLinks) _availableMbps[l] = _links[l].AvailableMbps;
        }
        MaxCachedSources = original.MaxCachedSources;
        _adjacencyStart = original._adjacencyStart;
        _adjacencyNode = original._adjacencyNode;
        _adjacencyLink = original._adjacencyLink;
        _routingLatencyMs = original._routingLatencyMs;
        _sources = original._sources;
        _gate = original._gate;
    }

    /// <summary>The same network with other background link usage (latencies unchanged).</summary>
    public Network WithLinkUsage(IReadOnlyList<double> usedMbps)
    {
        var links = new LinkSpec[Links.Count];
        for (var l = 0; l < links.Length; l++) links[l] = Links[l] with { UsedMbps = usedMbps[l] };
        return new Network(this, links);
    }

    /// <summary>
    /// Background usage of a few links changed by <paramref name="usedDeltaMbps"/> (e.g. a running
    /// app's own traffic taken out): routes are shared, only the changed links are touched.
    /// </summary>
    public Network WithLinkUsageChange(IReadOnlyDictionary<int, double> usedDeltaMbps)
    {
        var links = (LinkSpec[])_links.Clone();
        foreach (var (l, delta) in usedDeltaMbps)
            links[l] = links[l] with { UsedMbps = Math.Max(0, links[l].UsedMbps + delta) };
        return new Network(this, links, usedDeltaMbps.Keys);
    }

    /// <summary>
    /// The same topology with other link bandwidths or latencies. Routes depend on latencies only, so
    /// the route cache is kept when no latency changed and started afresh otherwise.
    /// </summary>
    public Network WithLinks(IReadOnlyList<LinkSpec> links)
    {
        if (links.Count != _links.Length) throw new ArgumentException("The link list must keep the topology's links.");
        var latencyChanged = new List<int>();
        for (var l = 0; l < _links.Length; l++)
        {
            if (links[l].NodeA != _links[l].NodeA || links[l].NodeB != _links[l].NodeB)
                throw new ArgumentException("The link list must keep the topology's links.");
            if (links[l].LatencyMs != _links[l].LatencyMs) latencyChanged.Add(l);
        }
        if (latencyChanged.Count == 0) return new Network(this, [.. links]);
        var network = new Network(NodeCount, links, MaxCachedSources);
        // A search that has settled neither end of a changed link never relaxed it, so it is still
        // exact under the new latencies: hand it over. The rest (and this network's lineage) start afresh.
        lock (_gate)
        {
            foreach (var (source, state) in _sources)
                if (!latencyChanged.Any(l => state.IsSettled(_links[l].NodeA) || state.IsSettled(_links[l].NodeB)))
                    network._sources[source] = state;
            _sources.Clear();
        }
        return network;
    }

    public int NodeCount { get; }

    public IReadOnlyList<LinkSpec> Links => _links;

    /// <summary>Available bandwidth of a link (bandwidth − background use).</summary>
    public double AvailableMbps(int link) => _availableMbps[link];

    public int MaxCachedSources { get; }

    public int Degree(int node) => _adjacencyStart[node + 1] - _adjacencyStart[node];

    public IEnumerable<int> Neighbours(int node)
    {
        for (var i = _adjacencyStart[node]; i < _adjacencyStart[node + 1]; i++) yield return _adjacencyNode[i];
    }

    /// <summary>The links at a node with the node at their other end (the learned policy's candidate graph).</summary>
    public IEnumerable<(int Neighbour, int Link)> IncidentLinks(int node)
    {
        for (var i = _adjacencyStart[node]; i < _adjacencyStart[node + 1]; i++) yield return (_adjacencyNode[i], _adjacencyLink[i]);
    }

    /// <summary>Shortest path latency in ms; +∞ when unreachable; 0 from a node to itself.</summary>
    public double LatencyMs(int from, int to)
    {
        if (from == to) return 0;
        lock (_gate) return Source(from).SettleUntil(to, this);
    }

    /// <summary>
    /// The links of the shortest-latency route, in order from <paramref name="to"/> back to
    /// <paramref name="from"/>; empty when from == to or unreachable.
    /// </summary>
    public int[] PathLinks(int from, int to)
    {
        if (from == to) return [];
        lock (_gate)
        {
            var state = Source(from);
            if (double.IsPositiveInfinity(state.SettleUntil(to, this))) return [];
            var path = new List<int>();
            for (var v = to; v != from;)
            {
                var link = state.PredecessorLink[v];
                path.Add(link);
                var l = _links[link];
                v = l.NodeA == v ? l.NodeB : l.NodeA;
            }
            return [.. path];
        }
    }

    /// <summary>
    /// The route's latency and its links (into <paramref name="links"/>, cleared first) without
    /// allocating: the feasibility checker calls this for every candidate.
    /// </summary>
    public bool TryRoute(int from, int to, List<int> links, out double latencyMs) => TryRoute(from, to, links, out latencyMs, out _);

    /// <summary>As <see cref="TryRoute(int,int,List{int},out double)"/>, also giving the route's bottleneck (available Mbps).</summary>
    public bool TryRoute(int from, int to, List<int> links, out double latencyMs, out double bottleneckMbps)
    {
        links.Clear();
        latencyMs = 0;
        bottleneckMbps = double.PositiveInfinity;
        if (from == to) return true;
        lock (_gate)
        {
            var state = Source(from);
            latencyMs = state.SettleUntil(to, this);
            if (double.IsPositiveInfinity(latencyMs)) return false;
            for (var v = to; v != from;)
            {
                var link = state.PredecessorLink[v];
                links.Add(link);
                bottleneckMbps = Math.Min(bottleneckMbps, _availableMbps[link]);
                var l = _links[link];
                v = l.NodeA == v ? l.NodeB : l.NodeA;
            }
            return true;
        }
    }

    /// <summary>Smallest available bandwidth along the shortest-latency route (+∞ when from == to).</summary>
    public double BottleneckMbps(int from, int to)
    {
        var min = double.PositiveInfinity;
        foreach (var link in PathLinks(from, to)) min = Math.Min(min, _availableMbps[link]);
        return from != to && min == double.PositiveInfinity ? 0 : min;
    }

    /// <summary>The <paramref name="count"/> nodes nearest to <paramref name="source"/> by latency, source first.</summary>
    public IReadOnlyList<int> NearestNodes(int source, int count)
    {
        lock (_gate)
        {
            var state = Source(source);
            state.SettleCount(count, this);
            return state.SettledOrder.Take(count).ToArray();
        }
    }

    private SourceState Source(int source)
    {
        if (_sources.TryGetValue(source, out var state)) return state;
        if (_sources.Count >= MaxCachedSources) _sources.Clear();
        state = new SourceState(source, NodeCount);
        _sources[source] = state;
        return state;
    }

    /// <summary>One Dijkstra run that can be resumed where it stopped.</summary>
    private sealed class SourceState
    {
        private readonly double[] _distance;
        private readonly bool[] _settled;
        private readonly PriorityQueue<int, double> _frontier = new();

        public SourceState(int source, int nodeCount)
        {
            _distance = new double[nodeCount];
            Array.Fill(_distance, double.PositiveInfinity);
            _settled = new bool[nodeCount];
            PredecessorLink = new int[nodeCount];
            _distance[source] = 0;
            PredecessorLink[source] = -1;
            _frontier.Enqueue(source, 0);
        }

        public int[] PredecessorLink { get; }

        public bool IsSettled(int node) => _settled[node];

        public List<int> SettledOrder { get; } = [];

        public double SettleUntil(int target, Network network)
        {
            while (!_settled[target] && SettleNext(network)) { }
            return _settled[target] ? _distance[target] : double.PositiveInfinity;
        }

        public void SettleCount(int count, Network network)
        {
            while (SettledOrder.Count < count && SettleNext(network)) { }
        }

        private bool SettleNext(Network network)
        {
            while (_frontier.TryDequeue(out var node, out var distance))
            {
                if (_settled[node] || distance > _distance[node]) continue;
                _settled[node] = true;
                SettledOrder.Add(node);
                for (var i = network._adjacencyStart[node]; i < network._adjacencyStart[node + 1]; i++)
                {
                    var next = network._adjacencyNode[i];
                    var link = network._adjacencyLink[i];
                    var candidate = distance + network._routingLatencyMs[link];
                    if (_settled[next] || candidate >= _distance[next]) continue;
                    _distance[next] = candidate;
                    PredecessorLink[next] = link;
                    _frontier.Enqueue(next, candidate);
                }
                return true;
            }
            return false;
        }
    }
}
