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
    private readonly RouteCost[] _routingCost;
    private readonly LinkSpec[] _links;
    private readonly double[] _availableMbps;
    private readonly Dictionary<int, SourceState> _sources;
    // Searches dropped when the cache was full, kept for reuse: a 10,000-node search holds ~200 KB
    // (large-object heap), and allocating one per new source cost more than the search itself.
    private readonly Stack<SourceState> _spareSources;
    private readonly Lock _gate;

    public Network(int nodeCount, IReadOnlyList<LinkSpec> links, int maxCachedSources = 1024)
    {
        NodeCount = nodeCount;
        _links = [.. links];
        _availableMbps = _links.Select(l => l.AvailableMbps).ToArray();
        MaxCachedSources = maxCachedSources;
        _sources = new();
        _spareSources = new();
        _gate = new();
        var degree = new int[nodeCount + 1];
        foreach (var link in links)
        {
            degree[link.NodeA]++;
            degree[link.NodeB]++;
        }
        _routingCost = new RouteCost[links.Count];
        for (var l = 0; l < links.Count; l++) _routingCost[l] = RouteCost.Of(l, links[l].LatencyMs);
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
        _routingCost = original._routingCost;
        _sources = original._sources;
        _spareSources = original._spareSources;
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
        lock (_gate)
        {
            var (state, reversed) = SettledSearch(from, to);
            var far = reversed ? from : to;
            if (!state.SettleUntil(far, this)) return double.PositiveInfinity;
            var latency = 0.0;
            for (var v = far; v != state.Source; v = Across(state.PredecessorLink[v], v)) latency += _links[state.PredecessorLink[v]].LatencyMs;
            return latency;
        }
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
            var (state, reversed) = SettledSearch(from, to);
            var far = reversed ? from : to;
            if (!state.SettleUntil(far, this)) return [];
            var path = new List<int>();
            for (var v = far; v != state.Source; v = Across(state.PredecessorLink[v], v)) path.Add(state.PredecessorLink[v]);
            if (reversed) path.Reverse();
            return [.. path];
        }
    }

    /// <summary>
    /// The route's latency and its links (into <paramref name="links"/>, cleared first) without
    /// allocating: the feasibility checker calls this for every candidate.
    /// </summary>
    public bool TryRoute(int from, int to, List<int> links, out double latencyMs) => TryRoute(from, to, links, out latencyMs, out _);

    /// <summary>
    /// As <see cref="TryRoute(int,int,List{int},out double)"/>, also giving the route's bottleneck (available Mbps).
    /// False also when the route is longer than <paramref name="maxLatencyMs"/>: the search from
    /// <paramref name="from"/> then stops at that radius (to be resumed by a later question) instead of
    /// crossing the whole network to find out how far beyond it <paramref name="to"/> lies.
    /// </summary>
    public bool TryRoute(int from, int to, List<int> links, out double latencyMs, out double bottleneckMbps, double maxLatencyMs = double.PositiveInfinity)
    {
        links.Clear();
        latencyMs = 0;
        bottleneckMbps = double.PositiveInfinity;
        if (from == to) return true;
        lock (_gate)
        {
            var state = Source(from);
            // The radius is in routing units, a hair wider than the bound; the answer is decided below on
            // the route's latency itself.
            if (!state.SettleUntil(to, this, RouteCost.RadiusOf(maxLatencyMs)))
            {
                latencyMs = double.PositiveInfinity;
                return false;
            }
            for (var v = to; v != from; v = Across(links[^1], v))
            {
                var link = state.PredecessorLink[v];
                links.Add(link);
                latencyMs += _links[link].LatencyMs;
                bottleneckMbps = Math.Min(bottleneckMbps, _availableMbps[link]);
            }
            return latencyMs <= maxLatencyMs;
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

    /// <summary>
    /// The search to answer from→to with: a cached search from <paramref name="to"/> that has already
    /// settled <paramref name="from"/> (reversed = true), else the one from <paramref name="from"/>.
    /// Shortest routes are unique (<see cref="RouteCost"/>), so both ends give the same links; this spares
    /// a plan's routes a search from a newly placed node when the checker already searched from the other end.
    /// </summary>
    private (SourceState State, bool Reversed) SettledSearch(int from, int to)
    {
        if (!(_sources.TryGetValue(from, out var forward) && forward.IsSettled(to))
            && _sources.TryGetValue(to, out var backward) && backward.IsSettled(from))
            return (backward, true);
        return (Source(from), false);
    }

    private int Across(int link, int node) => _links[link].NodeA == node ? _links[link].NodeB : _links[link].NodeA;

    private SourceState Source(int source)
    {
        if (_sources.TryGetValue(source, out var state)) return state;
        if (_sources.Count >= MaxCachedSources)
        {
            foreach (var dropped in _sources.Values) _spareSources.Push(dropped);
            _sources.Clear();
        }
        if (_spareSources.TryPop(out state)) state.Restart(source);
        else state = new SourceState(source, NodeCount);
        _sources[source] = state;
        return state;
    }

    /// <summary>
    /// What routing minimises: the latency in whole picoseconds, then a fixed pseudo-random number per link
    /// to break ties. Both are summed exactly in integers, so a route's cost does not depend on the end it
    /// is summed from, and two different routes practically never cost the same: the shortest route is
    /// unique and the same from either end (so link loads agree whichever end routes). The earlier
    /// floating-point perturbation (1e-7 ms × a linear hash of the link index) gave equal sums to
    /// different routes (links 3 + 7 against 4 + 6), so equal-latency routes were picked by summation
    /// order and differed by direction.
    /// </summary>
    private readonly record struct RouteCost(long Picoseconds, long TieBreak) : IComparable<RouteCost>
    {
        /// <summary>Link latencies up to this (about 17 minutes) route exactly; longer ones all count as this.</summary>
        private const double MaxRoutableMs = 1e6;

        public static readonly RouteCost Zero = new(0, 0);

        private static long UnitsOf(double latencyMs) =>
            double.IsNaN(latencyMs) || latencyMs >= MaxRoutableMs ? (long)(MaxRoutableMs * 1e9) : (long)Math.Round(Math.Max(0, latencyMs) * 1e9);

        /// <summary>A search radius that keeps every route of latency ≤ <paramref name="maxLatencyMs"/> (rounding to picoseconds included).</summary>
        public static long RadiusOf(double maxLatencyMs) =>
            maxLatencyMs < MaxRoutableMs ? UnitsOf(maxLatencyMs) + 1_000_000 : long.MaxValue;

        public static RouteCost Of(int link, double latencyMs)
        {
            // SplitMix64 of the link index: 31 bits, so sums along any route stay far from overflow.
            var z = (ulong)link + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return new RouteCost(UnitsOf(latencyMs), (long)(z >> 33) + 1);
        }

        public static RouteCost operator +(RouteCost a, RouteCost b) => new(a.Picoseconds + b.Picoseconds, a.TieBreak + b.TieBreak);

        public int CompareTo(RouteCost other) =>
            Picoseconds != other.Picoseconds ? Picoseconds.CompareTo(other.Picoseconds) : TieBreak.CompareTo(other.TieBreak);
    }

    /// <summary>One Dijkstra run that can be resumed where it stopped.</summary>
    private sealed class SourceState
    {
        private const byte Unreached = 0, InFrontier = 1, Settled = 2;
        // Only the progress bytes start zeroed: cost and predecessor are written before they are read,
        // so a search into a 10,000-node network does not clear 200 KB it mostly never touches.
        private readonly byte[] _progress;
        private readonly RouteCost[] _cost;
        private readonly PriorityQueue<int, RouteCost> _frontier = new();

        public SourceState(int source, int nodeCount)
        {
            _progress = new byte[nodeCount];
            _cost = GC.AllocateUninitializedArray<RouteCost>(nodeCount);
            PredecessorLink = GC.AllocateUninitializedArray<int>(nodeCount);
            Start(source);
        }

        public int Source { get; private set; }

        /// <summary>Forgets this search and starts one from <paramref name="source"/> in the same arrays.</summary>
        public void Restart(int source)
        {
            Array.Clear(_progress);
            _frontier.Clear();
            SettledOrder.Clear();
            Start(source);
        }

        private void Start(int source)
        {
            Source = source;
            _cost[source] = RouteCost.Zero;
            PredecessorLink[source] = -1;
            _progress[source] = InFrontier;
            _frontier.Enqueue(source, RouteCost.Zero);
        }

        /// <summary>The link into a settled node on its shortest route (−1 at the source).</summary>
        public int[] PredecessorLink { get; }

        public bool IsSettled(int node) => _progress[node] == Settled;

        public List<int> SettledOrder { get; } = [];

        /// <summary>
        /// Settles <paramref name="target"/>; false when it is unreachable or its latency exceeds
        /// <paramref name="boundPicoseconds"/> (the search then stops at that radius: every node still
        /// unsettled is farther).
        /// </summary>
        public bool SettleUntil(int target, Network network, long boundPicoseconds = long.MaxValue)
        {
            while (_progress[target] != Settled)
                if (!_frontier.TryPeek(out _, out var nearest) || nearest.Picoseconds > boundPicoseconds || !SettleNext(network))
                    return false;
            return _cost[target].Picoseconds <= boundPicoseconds;
        }

        public void SettleCount(int count, Network network)
        {
            while (SettledOrder.Count < count && SettleNext(network)) { }
        }

        private bool SettleNext(Network network)
        {
            while (_frontier.TryDequeue(out var node, out var cost))
            {
                if (_progress[node] == Settled || cost.CompareTo(_cost[node]) > 0) continue;
                _progress[node] = Settled;
                SettledOrder.Add(node);
                for (var i = network._adjacencyStart[node]; i < network._adjacencyStart[node + 1]; i++)
                {
                    var next = network._adjacencyNode[i];
                    var progress = _progress[next];
                    if (progress == Settled) continue;
                    var candidate = cost + network._routingCost[network._adjacencyLink[i]];
                    if (progress == InFrontier && candidate.CompareTo(_cost[next]) >= 0) continue;
                    _progress[next] = InFrontier;
                    _cost[next] = candidate;
                    PredecessorLink[next] = network._adjacencyLink[i];
                    _frontier.Enqueue(next, candidate);
                }
                return true;
            }
            return false;
        }
    }
}
