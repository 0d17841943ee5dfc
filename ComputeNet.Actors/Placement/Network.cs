namespace ComputeNet.Actors.Placement;

/// <summary>
/// The link graph with shortest-latency routing. Access networks are trees hanging off a meshed core
/// (devices and edge sites with one uplink), and a tree has one way in and out, so the graph is split
/// once into its 2-core and the trees hanging off it: a route is the tree path up from one end, a core
/// route, and the tree path down to the other end. Only the core is searched, by a resumable Dijkstra
/// per core source that settles only as far as a query needs and is cached (bounded; the whole cache
/// is dropped when it grows past the bound). On Geant2012 grown to 10,000 nodes the core is the
/// topology's few dozen meshed sites, so a route query is a few tree steps plus a cached core lookup
/// instead of a search across 10,000 nodes. Nearest-node scans need every node and keep a resumable
/// search over the whole graph. Immutable from the outside; a topology or link change means a new
/// <see cref="Network"/>.
/// </summary>
public sealed class Network
{
    private readonly LinkSpec[] _links;
    private readonly double[] _availableMbps;
    private readonly Shape _shape;
    private readonly RouteCost[] _linkCost;
    // The tree path from each node up to its core node (zero at core nodes).
    private readonly RouteCost[] _costToCore;
    private readonly SearchCache _coreSearches;
    private readonly NearestCache _nearest;
    private readonly Lock _gate;
    private readonly List<int> _scratchRoute;

    public Network(int nodeCount, IReadOnlyList<LinkSpec> links, int maxCachedSources = 1024)
        : this(Shape.Of(nodeCount, links), [.. links], maxCachedSources)
    {
    }

    // New latencies on a known shape: costs computed afresh, searches start empty.
    private Network(Shape shape, LinkSpec[] links, int maxCachedSources)
    {
        _shape = shape;
        _links = links;
        _availableMbps = _links.Select(l => l.AvailableMbps).ToArray();
        MaxCachedSources = maxCachedSources;
        _linkCost = new RouteCost[links.Length];
        for (var l = 0; l < links.Length; l++) _linkCost[l] = RouteCost.Of(l, links[l].LatencyMs);
        _costToCore = new RouteCost[shape.NodeCount];
        foreach (var v in shape.TopDown)
            _costToCore[v] = shape.ParentLink[v] < 0 ? RouteCost.Zero : _costToCore[shape.Parent[v]] + _linkCost[shape.ParentLink[v]];
        _coreSearches = new SearchCache(shape.Core, _linkCost, maxCachedSources);
        _nearest = new NearestCache(shape.Full, _linkCost, maxCachedSources);
        _gate = new();
        _scratchRoute = [];
    }

    // Same topology and latencies, new link usage: routes do not change, so the searches are shared.
    // Takes ownership of the array; only the links in changedLinks (all when null) need their availability recomputed.
    private Network(Network original, LinkSpec[] links, IEnumerable<int>? changedLinks = null)
    {
        _links = links;
        if (changedLinks is null) _availableMbps = _links.Select(l => l.AvailableMbps).ToArray();
        else
        {
            _availableMbps = (double[])original._availableMbps.Clone();
            foreach (var l in changedLinks) _availableMbps[l] = _links[l].AvailableMbps;
        }
        MaxCachedSources = original.MaxCachedSources;
        _shape = original._shape;
        _linkCost = original._linkCost;
        _costToCore = original._costToCore;
        _coreSearches = original._coreSearches;
        _nearest = original._nearest;
        _gate = original._gate;
        _scratchRoute = original._scratchRoute;
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
    /// the searches are kept when no latency changed and started afresh otherwise.
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
        var network = new Network(_shape, [.. links], MaxCachedSources);
        // A search that has settled neither end of a changed link never relaxed it, so it is still
        // exact under the new latencies: hand it over. A core search never relaxes a tree link. Core
        // searches go on changing, so the rest (and this network's lineage) start afresh.
        var coreChanged = latencyChanged.Where(l => _shape.CoreIndex[_links[l].NodeA] >= 0 && _shape.CoreIndex[_links[l].NodeB] >= 0).ToArray();
        lock (_gate)
        {
            _coreSearches.HandOver(network._coreSearches, state =>
                !coreChanged.Any(l => state.IsSettled(_shape.CoreIndex[_links[l].NodeA]) || state.IsSettled(_shape.CoreIndex[_links[l].NodeB])));
            var touched = latencyChanged.SelectMany(l => new[] { _links[l].NodeA, _links[l].NodeB }).ToHashSet();
            _nearest.ShareWith(network._nearest, touched);
        }
        return network;
    }

    public int NodeCount => _shape.NodeCount;

    public IReadOnlyList<LinkSpec> Links => _links;

    /// <summary>Available bandwidth of a link (bandwidth − background use).</summary>
    public double AvailableMbps(int link) => _availableMbps[link];

    public int MaxCachedSources { get; }

    /// <summary>Nodes of the meshed core that route queries search (the rest hang off it in trees).</summary>
    public int CoreNodeCount => _shape.Core.NodeCount;

    public int Degree(int node) => _shape.Full.Start[node + 1] - _shape.Full.Start[node];

    public IEnumerable<int> Neighbours(int node)
    {
        for (var i = _shape.Full.Start[node]; i < _shape.Full.Start[node + 1]; i++) yield return _shape.Full.Node[i];
    }

    /// <summary>The links at a node with the node at their other end (the learned policy's candidate graph).</summary>
    public IEnumerable<(int Neighbour, int Link)> IncidentLinks(int node)
    {
        for (var i = _shape.Full.Start[node]; i < _shape.Full.Start[node + 1]; i++) yield return (_shape.Full.Node[i], _shape.Full.Link[i]);
    }

    /// <summary>Shortest path latency in ms; +∞ when unreachable; 0 from a node to itself.</summary>
    public double LatencyMs(int from, int to)
    {
        if (from == to) return 0;
        lock (_gate)
        {
            if (!Route(from, to, long.MaxValue, _scratchRoute)) return double.PositiveInfinity;
            var latency = 0.0;
            foreach (var link in _scratchRoute) latency += _links[link].LatencyMs;
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
        lock (_gate) return Route(from, to, long.MaxValue, _scratchRoute) ? [.. _scratchRoute] : [];
    }

    /// <summary>
    /// The route's latency and its links (into <paramref name="links"/>, cleared first) without
    /// allocating: the feasibility checker calls this for every candidate.
    /// </summary>
    public bool TryRoute(int from, int to, List<int> links, out double latencyMs) => TryRoute(from, to, links, out latencyMs, out _);

    /// <summary>
    /// As <see cref="TryRoute(int,int,List{int},out double)"/>, also giving the route's bottleneck (available Mbps).
    /// False also when the route is longer than <paramref name="maxLatencyMs"/>: the core search then
    /// stops at that radius (to be resumed by a later question) instead of crossing the whole network
    /// to find out how far beyond it <paramref name="to"/> lies.
    /// </summary>
    public bool TryRoute(int from, int to, List<int> links, out double latencyMs, out double bottleneckMbps, double maxLatencyMs = double.PositiveInfinity)
    {
        links.Clear();
        latencyMs = 0;
        bottleneckMbps = double.PositiveInfinity;
        if (from == to) return true;
        bool found;
        // The radius is in routing units, a hair wider than the bound; the answer is decided below on
        // the route's latency itself.
        lock (_gate) found = Route(from, to, RouteCost.RadiusOf(maxLatencyMs), links);
        if (!found)
        {
            latencyMs = double.PositiveInfinity;
            return false;
        }
        foreach (var link in links)
        {
            latencyMs += _links[link].LatencyMs;
            bottleneckMbps = Math.Min(bottleneckMbps, _availableMbps[link]);
        }
        return latencyMs <= maxLatencyMs;
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
        lock (_gate) return _nearest.Nearest(source, count);
    }

    /// <summary>
    /// The shortest route from → to into <paramref name="links"/> (cleared first), in order from
    /// <paramref name="to"/> back to <paramref name="from"/>; false when unreachable or farther than
    /// <paramref name="radius"/> (routing units). Callers hold the gate.
    /// </summary>
    private bool Route(int from, int to, long radius, List<int> links)
    {
        links.Clear();
        var shape = _shape;
        int fromRoot = shape.Root[from], toRoot = shape.Root[to];
        if (fromRoot == toRoot)
        {
            // Both in one tree (or one at its core node): the only route runs through their lowest common ancestor.
            int a = from, b = to;
            while (shape.Depth[a] > shape.Depth[b]) a = shape.Parent[a];
            while (shape.Depth[b] > shape.Depth[a]) b = shape.Parent[b];
            while (a != b) (a, b) = (shape.Parent[a], shape.Parent[b]);
            var ancestor = a;
            var treePicoseconds = _costToCore[from].Picoseconds + _costToCore[to].Picoseconds - 2 * _costToCore[ancestor].Picoseconds;
            if (treePicoseconds > radius) return false;
            ClimbFrom(to, ancestor, links);
            ClimbToward(from, ancestor, links);
            return true;
        }
        var coreRadius = radius == long.MaxValue ? long.MaxValue : radius - _costToCore[from].Picoseconds - _costToCore[to].Picoseconds;
        if (coreRadius < 0) return false;
        var (state, reversed) = SettledCoreSearch(shape.CoreIndex[fromRoot], shape.CoreIndex[toRoot]);
        var far = shape.CoreIndex[reversed ? fromRoot : toRoot];
        if (!state.SettleUntil(far, _coreSearches, coreRadius)) return false;
        ClimbFrom(to, toRoot, links);
        var coreStart = links.Count;
        for (var v = far; v != state.Source; v = shape.CoreIndex[Across(links[^1], shape.CoreNode[v])]) links.Add(state.PredecessorLink[v]);
        if (reversed) links.Reverse(coreStart, links.Count - coreStart);
        ClimbToward(from, fromRoot, links);
        return true;
    }

    // Tree links from node up to its ancestor, in that order.
    private void ClimbFrom(int node, int ancestor, List<int> links)
    {
        for (var v = node; v != ancestor; v = _shape.Parent[v]) links.Add(_shape.ParentLink[v]);
    }

    // Tree links from the ancestor down to node, in that order.
    private void ClimbToward(int node, int ancestor, List<int> links)
    {
        var start = links.Count;
        ClimbFrom(node, ancestor, links);
        links.Reverse(start, links.Count - start);
    }

    /// <summary>
    /// The core search to answer from→to with (core indices): a cached search from <paramref name="to"/>
    /// that has already settled <paramref name="from"/> (reversed = true), else the one from
    /// <paramref name="from"/>. Shortest routes are unique (<see cref="RouteCost"/>), so both ends give
    /// the same links; this spares a plan's routes a search from a newly placed node's core node when
    /// the checker already searched from the other end.
    /// </summary>
    private (SourceState State, bool Reversed) SettledCoreSearch(int from, int to)
    {
        var sources = _coreSearches.Sources;
        if (!(sources.TryGetValue(from, out var forward) && forward.IsSettled(to))
            && sources.TryGetValue(to, out var backward) && backward.IsSettled(from))
            return (backward, true);
        return (_coreSearches.Source(from), false);
    }

    private int Across(int link, int node) => _links[link].NodeA == node ? _links[link].NodeB : _links[link].NodeA;

    /// <summary>A graph in adjacency-array form: the neighbours of v are Node[Start[v]..Start[v + 1]), over Link[...].</summary>
    private sealed record Graph(int[] Start, int[] Node, int[] Link)
    {
        public int NodeCount => Start.Length - 1;

        public static Graph Of(int nodeCount, IReadOnlyList<(int A, int B, int Link)> edges)
        {
            var start = new int[nodeCount + 1];
            foreach (var (a, b, _) in edges)
            {
                start[a + 1]++;
                start[b + 1]++;
            }
            for (var v = 0; v < nodeCount; v++) start[v + 1] += start[v];
            var node = new int[start[nodeCount]];
            var link = new int[start[nodeCount]];
            var fill = (int[])start.Clone();
            foreach (var (a, b, l) in edges)
            {
                node[fill[a]] = b;
                link[fill[a]++] = l;
                node[fill[b]] = a;
                link[fill[b]++] = l;
            }
            return new Graph(start, node, link);
        }
    }

    /// <summary>
    /// What depends on the topology alone, shared by every network with the same links: the whole
    /// graph, its 2-core (what is left after repeatedly removing nodes with one link or none, in dense
    /// indices), and for every other node its parent towards the core node its tree hangs off. A tree
    /// that hangs off nothing (a component without a cycle) gets one of its nodes as its core node.
    /// </summary>
    private sealed class Shape
    {
        public required int NodeCount { get; init; }
        public required Graph Full { get; init; }
        public required Graph Core { get; init; }
        /// <summary>Core index of a core node, −1 for tree nodes.</summary>
        public required int[] CoreIndex { get; init; }
        public required int[] CoreNode { get; init; }
        public required int[] Parent { get; init; }
        public required int[] ParentLink { get; init; }
        public required int[] Depth { get; init; }
        /// <summary>The core node each node's tree hangs off (itself for core nodes).</summary>
        public required int[] Root { get; init; }
        /// <summary>Every node, each after its parent.</summary>
        public required int[] TopDown { get; init; }

        public static Shape Of(int nodeCount, IReadOnlyList<LinkSpec> links)
        {
            var full = Graph.Of(nodeCount, links.Select((l, i) => (l.NodeA, l.NodeB, i)).ToArray());
            var degree = new int[nodeCount];
            for (var v = 0; v < nodeCount; v++) degree[v] = full.Start[v + 1] - full.Start[v];
            var removed = new bool[nodeCount];
            var parent = Enumerable.Repeat(-1, nodeCount).ToArray();
            var parentLink = Enumerable.Repeat(-1, nodeCount).ToArray();
            var leaves = new Queue<int>();
            for (var v = 0; v < nodeCount; v++) if (degree[v] <= 1) leaves.Enqueue(v);
            var peeled = new List<int>();
            while (leaves.TryDequeue(out var leaf))
            {
                removed[leaf] = true;
                peeled.Add(leaf);
                // At most one neighbour is left (a self-loop or parallel link keeps the degree at 2 or more).
                for (var i = full.Start[leaf]; i < full.Start[leaf + 1]; i++)
                {
                    var next = full.Node[i];
                    if (removed[next]) continue;
                    parent[leaf] = next;
                    parentLink[leaf] = full.Link[i];
                    if (--degree[next] == 1) leaves.Enqueue(next);
                }
            }
            var coreIndex = Enumerable.Repeat(-1, nodeCount).ToArray();
            var coreNode = new List<int>();
            for (var v = 0; v < nodeCount; v++)
                if (parent[v] < 0)
                {
                    coreIndex[v] = coreNode.Count;
                    coreNode.Add(v);
                }
            // Parents are peeled after their children (or never), so the reverse peeling order runs top-down.
            var topDown = coreNode.Concat(Enumerable.Reverse(peeled).Where(v => parent[v] >= 0)).ToArray();
            var depth = new int[nodeCount];
            var root = new int[nodeCount];
            foreach (var v in topDown)
                (depth[v], root[v]) = parent[v] < 0 ? (0, v) : (depth[parent[v]] + 1, root[parent[v]]);
            var coreEdges = new List<(int, int, int)>();
            for (var l = 0; l < links.Count; l++)
                if (coreIndex[links[l].NodeA] >= 0 && coreIndex[links[l].NodeB] >= 0)
                    coreEdges.Add((coreIndex[links[l].NodeA], coreIndex[links[l].NodeB], l));
            return new Shape
            {
                NodeCount = nodeCount,
                Full = full,
                Core = Graph.Of(coreNode.Count, coreEdges),
                CoreIndex = coreIndex,
                CoreNode = [.. coreNode],
                Parent = parent,
                ParentLink = parentLink,
                Depth = depth,
                Root = root,
                TopDown = topDown,
            };
        }
    }

    /// <summary>
    /// Resumable searches over one graph under one set of link costs, by source (bounded: the whole cache
    /// is dropped past the bound). Shared by networks that differ in link usage only.
    /// </summary>
    private sealed class SearchCache(Graph graph, RouteCost[] linkCost, int maxSources)
    {
        // Searches dropped when the cache was full, kept for reuse: a 10,000-node search holds ~200 KB
        // (large-object heap), and allocating one per new source cost more than the search itself.
        private readonly Stack<SourceState> _spare = new();

        public Graph Graph { get; } = graph;

        public RouteCost[] LinkCost { get; } = linkCost;

        public Dictionary<int, SourceState> Sources { get; } = new();

        public SourceState Source(int source)
        {
            if (Sources.TryGetValue(source, out var state)) return state;
            if (Sources.Count >= maxSources)
            {
                foreach (var dropped in Sources.Values) _spare.Push(dropped);
                Sources.Clear();
            }
            if (_spare.TryPop(out state)) state.Restart(source);
            else state = new SourceState(source, Graph.NodeCount);
            Sources[source] = state;
            return state;
        }

        /// <summary>Moves the searches still exact under <paramref name="successor"/>'s costs to it; forgets all of them here.</summary>
        public void HandOver(SearchCache successor, Func<SourceState, bool> stillExact)
        {
            foreach (var (source, state) in Sources)
                if (stillExact(state)) successor.Sources[source] = state;
            Sources.Clear();
        }
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

    /// <summary>
    /// Nearest-node lists by source, as far as they were asked for (bounded like the searches). Kept as
    /// lists rather than searches: a 10,000-node search holds ~200 KB, a list of the 64 nearest 256
    /// bytes; a scan from a new source settles only those few nodes, in one reused search.
    /// </summary>
    private sealed class NearestCache(Graph graph, RouteCost[] linkCost, int maxSources)
    {
        private readonly Dictionary<int, (int[] Order, bool Whole)> _lists = new();
        // One search, resumed while the same source asks for more and restarted for the next.
        private readonly SearchCache _search = new(graph, linkCost, maxSources: 1);

        public IReadOnlyList<int> Nearest(int source, int count)
        {
            if (!_lists.TryGetValue(source, out var known) || (known.Order.Length < count && !known.Whole))
            {
                var state = _search.Source(source);
                state.SettleCount(count, _search);
                known = ([.. state.SettledOrder], state.SettledOrder.Count < count);
                if (_lists.Count >= maxSources && !_lists.ContainsKey(source)) _lists.Clear();
                _lists[source] = known;
            }
            return known.Order.Length <= count ? known.Order : known.Order[..count];
        }

        /// <summary>
        /// Gives <paramref name="successor"/> the lists still exact after latency changes on links at
        /// <paramref name="touched"/> nodes (a search that settled neither end of a link never relaxed it).
        /// Lists are never changed once made, so this lineage keeps them all, and its search, too.
        /// </summary>
        public void ShareWith(NearestCache successor, HashSet<int> touched)
        {
            foreach (var (source, known) in _lists)
                if (!known.Order.Any(touched.Contains)) successor._lists[source] = known;
        }
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
        /// Settles <paramref name="target"/>; false when it is unreachable or its cost exceeds
        /// <paramref name="boundPicoseconds"/> (the search then stops at that radius: every node still
        /// unsettled is farther).
        /// </summary>
        public bool SettleUntil(int target, SearchCache cache, long boundPicoseconds = long.MaxValue)
        {
            while (_progress[target] != Settled)
                if (!_frontier.TryPeek(out _, out var nearest) || nearest.Picoseconds > boundPicoseconds || !SettleNext(cache))
                    return false;
            return _cost[target].Picoseconds <= boundPicoseconds;
        }

        public void SettleCount(int count, SearchCache cache)
        {
            while (SettledOrder.Count < count && SettleNext(cache)) { }
        }

        private bool SettleNext(SearchCache cache)
        {
            var graph = cache.Graph;
            while (_frontier.TryDequeue(out var node, out var cost))
            {
                if (_progress[node] == Settled || cost.CompareTo(_cost[node]) > 0) continue;
                _progress[node] = Settled;
                SettledOrder.Add(node);
                for (var i = graph.Start[node]; i < graph.Start[node + 1]; i++)
                {
                    var next = graph.Node[i];
                    var progress = _progress[next];
                    if (progress == Settled) continue;
                    var candidate = cost + cache.LinkCost[graph.Link[i]];
                    if (progress == InFrontier && candidate.CompareTo(_cost[next]) >= 0) continue;
                    _progress[next] = InFrontier;
                    _cost[next] = candidate;
                    PredecessorLink[next] = graph.Link[i];
                    _frontier.Enqueue(next, candidate);
                }
                return true;
            }
            return false;
        }
    }
}
