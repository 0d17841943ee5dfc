namespace ComputeNet.Actors.Placement;

/// <summary>
/// The running apps and the fleet they load, indexed by node and by link so that a change finds the
/// apps it can affect without scanning them all. Node usage and link usage include every running
/// app; <see cref="ProblemFor(string, Generation.Fleet?)"/> gives an app its own view with its own
/// load taken out, which is what re-placement expects. Views and commits derive the fleet's indexes
/// instead of rebuilding them, so a view of a 10,000-node fleet costs well under a millisecond.
/// Pure and single-threaded: the caller (an actor, the benchmark) owns it.
/// </summary>
public sealed class RunningFleet
{
    private readonly List<Entry> _apps = [];
    private readonly Dictionary<string, int> _indexById = new();
    private readonly Dictionary<int, HashSet<int>> _appsByNode = new();
    private readonly Dictionary<int, HashSet<int>> _appsByLink = new();
    private NodeSpec[] _nodes;
    private Network _network;

    /// <param name="nodes">Nodes with their background usage (no running app's load).</param>
    /// <param name="network">Links with their background usage.</param>
    public RunningFleet(IReadOnlyList<NodeSpec> nodes, Network network, ObjectiveWeights? weights = null)
    {
        _nodes = [.. nodes];
        _network = network;
        Weights = weights ?? ObjectiveWeights.Default;
        FleetIndex.For(_nodes);
    }

    public ObjectiveWeights Weights { get; }

    /// <summary>Nodes with every running app's load (a snapshot: do not mutate).</summary>
    public IReadOnlyList<NodeSpec> Nodes => _nodes;

    public Network Network => _network;

    public Generation.Fleet Conditions => new(_nodes, _network);

    public int Count => _apps.Count;

    public IEnumerable<RunningApp> Apps => _apps.Select(e => e.App);

    public RunningApp App(string id) => _apps[Index(id)].App;

    /// <summary>The app's marginal objective (its cost over the empty placement) when it was last planned.</summary>
    public double PlannedCost(string id) => _apps[Index(id)].PlannedCost;

    /// <summary>A placement question for a new app against the current fleet.</summary>
    public PlacementProblem ProblemForNew(IReadOnlyList<Subtask> subtasks, IReadOnlyList<SubtaskEdge> edges, IReadOnlyList<int> userAccessNodes, IReadOnlyList<int>? order = null) =>
        new(_nodes, _network, subtasks, edges, userAccessNodes, order);

    /// <summary>Starts tracking a placed app and commits its load.</summary>
    public void Add(RunningApp app)
    {
        if (_indexById.ContainsKey(app.Id)) throw new ArgumentException($"app {app.Id} is already running");
        var footprint = Footprint.Of(app, _network);
        var entry = new Entry(app, footprint);
        _indexById[app.Id] = _apps.Count;
        _apps.Add(entry);
        Load(footprint, +1);
        Index(_apps.Count - 1, footprint, add: true);
        entry.PlannedCost = MarginalCost(ProblemFor(app.Id), app.Assignment);
    }

    /// <summary>Commits a new placement of a running app (after its migration).</summary>
    public void Reassign(string id, IReadOnlyList<int> assignment)
    {
        var i = Index(id);
        var old = _apps[i];
        Index(i, old.Footprint, add: false);
        var app = old.App with { Assignment = [.. assignment] };
        var footprint = Footprint.Of(app, _network);
        _apps[i] = new Entry(app, footprint);
        Shift(old.Footprint, footprint);
        Index(i, footprint, add: true);
        _apps[i].PlannedCost = MarginalCost(ProblemFor(id), assignment);
    }

    /// <summary>The app's problem in the current conditions (or in <paramref name="conditions"/>, e.g. a forecast view) without its own load.</summary>
    public PlacementProblem ProblemFor(string id, Generation.Fleet? conditions = null)
    {
        var entry = _apps[Index(id)];
        var (nodes, network) = conditions is null ? (_nodes, _network) : (conditions.Nodes as NodeSpec[] ?? [.. conditions.Nodes], conditions.Network);
        var credited = WithLoad(nodes, entry.Footprint, -1);
        var creditedNetwork = network.WithLinkUsageChange(entry.Footprint.LinkLoads(-1));
        var app = entry.App;
        return new PlacementProblem(credited, creditedNetwork, app.Subtasks, app.Edges, app.UserAccessNodes, app.PlacementOrder);
    }

    /// <summary>Running apps a change may affect: on its nodes, routed over its links, or re-routed by it.</summary>
    public IReadOnlyList<string> AppsTouching(FleetDelta delta) =>
        AppsTouching(delta.Nodes, delta.Links).Union(delta.Rerouted).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Running apps with a subtask on one of <paramref name="nodes"/> or a route over one of <paramref name="links"/>.</summary>
    public IReadOnlyList<string> AppsTouching(IEnumerable<int> nodes, IEnumerable<int> links)
    {
        var found = new SortedSet<int>();
        foreach (var v in nodes) if (_appsByNode.TryGetValue(v, out var apps)) found.UnionWith(apps);
        foreach (var l in links) if (_appsByLink.TryGetValue(l, out var apps)) found.UnionWith(apps);
        return found.Select(i => _apps[i].App.Id).ToArray();
    }

    /// <summary>Applies a change of conditions; returns the nodes and links it touched.</summary>
    public FleetDelta Apply(FleetChange change)
    {
        switch (change)
        {
            case NodeCapacityChanged c:
                SetNode(c.Node, _nodes[c.Node] with { Capacity = c.Capacity });
                return new FleetDelta(new HashSet<int> { c.Node }, new HashSet<int>());
            case NodeDied d:
                SetNode(d.Node, _nodes[d.Node] with { Capacity = Resources.Zero });
                return new FleetDelta(new HashSet<int> { d.Node }, new HashSet<int>());
            case LinkChanged l:
            {
                var links = _network.Links.ToArray();
                var old = links[l.Link];
                links[l.Link] = old with { LatencyMs = l.LatencyMs ?? old.LatencyMs, BandwidthMbps = l.BandwidthMbps ?? old.BandwidthMbps };
                var (rerouted, loaded) = SetLinks(links, latencyChanged: links[l.Link].LatencyMs != old.LatencyMs ? [l.Link] : []);
                // The re-routed traffic lands on other links: the apps already there may lose bandwidth.
                loaded.Add(l.Link);
                return new FleetDelta(new HashSet<int>(), loaded) { Rerouted = rerouted };
            }
            case RegionUplinkChanged r:
            {
                var links = _network.Links.ToArray();
                var touched = new HashSet<int>();
                for (var i = 0; i < links.Length; i++)
                {
                    if (!RegionUplinks.IsUplink(_nodes, links[i], r.Region)) continue;
                    links[i] = links[i] with { BandwidthMbps = links[i].BandwidthMbps * r.BandwidthFactor };
                    touched.Add(i);
                }
                SetLinks(links, latencyChanged: []);
                return new FleetDelta(new HashSet<int>(), touched);
            }
            default:
                throw new ArgumentException($"unknown change {change.GetType().Name}");
        }
    }

    /// <summary>The fleet as the forecast expects it at the horizon (nodes' available compute, links' latency and bandwidth).</summary>
    public Generation.Fleet ForecastView(FleetForecast forecast)
    {
        var nodes = (NodeSpec[])_nodes.Clone();
        var changed = new HashSet<int>();
        foreach (var (v, available) in forecast.NodeAvailable)
        {
            // Raw (possibly negative: usage forecast to exceed what the node offers); NodeSpec.Free clamps.
            nodes[v] = nodes[v] with { ForecastAvailable = available - nodes[v].Used };
            changed.Add(v);
        }
        if (changed.Count > 0) FleetIndex.For(_nodes).Derive(nodes, changed);
        var network = _network;
        if (forecast.Links.Count > 0)
        {
            var links = _network.Links.ToArray();
            foreach (var (l, f) in forecast.Links)
                links[l] = links[l] with
                {
                    LatencyMs = f.LatencyMs ?? links[l].LatencyMs,
                    BandwidthMbps = f.AvailableMbps is { } available ? links[l].UsedMbps + available : links[l].BandwidthMbps,
                };
            network = _network.WithLinks(links);
        }
        return new Generation.Fleet(changed.Count > 0 ? nodes : _nodes, network);
    }

    /// <summary>The app's share of the objective: its placement's total minus the total with it unplaced.</summary>
    public double MarginalCost(PlacementProblem problem, IReadOnlyList<int> assignment)
    {
        var objective = new PlacementObjective(problem, Weights);
        return objective.Evaluate(assignment).Total - objective.Evaluate(Enumerable.Repeat(-1, assignment.Count).ToArray()).Total;
    }

    private int Index(string id) => _indexById.TryGetValue(id, out var i) ? i : throw new KeyNotFoundException($"no running app {id}");

    private void SetNode(int v, NodeSpec node)
    {
        var nodes = (NodeSpec[])_nodes.Clone();
        nodes[v] = node;
        FleetIndex.For(_nodes).Derive(nodes, [v]);
        _nodes = nodes;
    }

    // Latency changes re-route the apps whose routes used those links; their traffic moves with them.
    // A latency drop may also attract other apps' routes: those are re-routed when they next change.
    // Returns the re-routed apps and the links their new routes load.
    private (HashSet<string> Rerouted, HashSet<int> LoadedLinks) SetLinks(LinkSpec[] links, IReadOnlyList<int> latencyChanged)
    {
        var rerouted = latencyChanged.SelectMany(l => _appsByLink.GetValueOrDefault(l) ?? []).Distinct().ToArray();
        foreach (var i in rerouted)
        {
            foreach (var (l, rate) in _apps[i].Footprint.LinkRates) links[l] = links[l] with { UsedMbps = Math.Max(0, links[l].UsedMbps - rate) };
            Index(i, _apps[i].Footprint, add: false);
        }
        _network = _network.WithLinks(links);
        if (rerouted.Length == 0) return ([], []);
        var added = new Dictionary<int, double>();
        foreach (var i in rerouted)
        {
            var footprint = Footprint.Of(_apps[i].App, _network);
            _apps[i] = new Entry(_apps[i].App, footprint) { PlannedCost = _apps[i].PlannedCost };
            Index(i, footprint, add: true);
            foreach (var (l, rate) in footprint.LinkRates) added[l] = added.GetValueOrDefault(l) + rate;
        }
        _network = _network.WithLinkUsageChange(added);
        return (rerouted.Select(i => _apps[i].App.Id).ToHashSet(), [.. added.Keys]);
    }

    private void Load(Footprint footprint, int sign)
    {
        _nodes = WithLoad(_nodes, footprint.NodeLoads.Select(p => KeyValuePair.Create(p.Key, p.Value.Scale(sign))));
        _network = _network.WithLinkUsageChange(footprint.LinkLoads(sign));
    }

    // One derived view for a move: the old footprint's load out, the new one's in.
    private void Shift(Footprint from, Footprint to)
    {
        var nodeDelta = new Dictionary<int, Resources>();
        foreach (var (v, load) in from.NodeLoads) nodeDelta[v] = nodeDelta.GetValueOrDefault(v) - load;
        foreach (var (v, load) in to.NodeLoads) nodeDelta[v] = nodeDelta.GetValueOrDefault(v) + load;
        var linkDelta = from.LinkLoads(-1);
        foreach (var (l, rate) in to.LinkLoads(+1)) linkDelta[l] = linkDelta.GetValueOrDefault(l) + rate;
        _nodes = WithLoad(_nodes, nodeDelta);
        _network = _network.WithLinkUsageChange(linkDelta);
    }

    private static NodeSpec[] WithLoad(NodeSpec[] nodes, Footprint footprint, int sign) =>
        WithLoad(nodes, footprint.NodeLoads.Select(p => KeyValuePair.Create(p.Key, p.Value.Scale(sign))));

    private static NodeSpec[] WithLoad(NodeSpec[] nodes, IEnumerable<KeyValuePair<int, Resources>> loadDelta)
    {
        var result = (NodeSpec[])nodes.Clone();
        var changed = new HashSet<int>();
        foreach (var (v, delta) in loadDelta)
        {
            result[v] = result[v] with
            {
                Used = result[v].Used + delta,
                ForecastAvailable = result[v].ForecastAvailable is { } f ? f - delta : null,
            };
            changed.Add(v);
        }
        FleetIndex.For(nodes).Derive(result, changed);
        return result;
    }

    private void Index(int app, Footprint footprint, bool add)
    {
        foreach (var v in footprint.NodeLoads.Keys) Update(_appsByNode, v);
        foreach (var l in footprint.RouteLinks) Update(_appsByLink, l);

        void Update(Dictionary<int, HashSet<int>> index, int key)
        {
            if (add)
            {
                if (!index.TryGetValue(key, out var set)) index[key] = set = [];
                set.Add(app);
            }
            else if (index.TryGetValue(key, out var set) && set.Remove(app) && set.Count == 0) index.Remove(key);
        }
    }

    private sealed class Entry(RunningApp app, Footprint footprint)
    {
        public RunningApp App { get; } = app;

        public Footprint Footprint { get; } = footprint;

        public double PlannedCost { get; set; }
    }

    /// <summary>What an app puts on the fleet: load per node, and the links its routes cross (with the data rate each carries).</summary>
    private sealed class Footprint
    {
        public Dictionary<int, Resources> NodeLoads { get; } = new();

        public Dictionary<int, double> LinkRates { get; } = new();

        public HashSet<int> RouteLinks { get; } = [];

        public Dictionary<int, double> LinkLoads(int sign) => LinkRates.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => sign * p.Value);

        public static Footprint Of(RunningApp app, Network network)
        {
            var footprint = new Footprint();
            for (var k = 0; k < app.Assignment.Count; k++)
                if (app.Assignment[k] >= 0)
                    footprint.NodeLoads[app.Assignment[k]] = footprint.NodeLoads.GetValueOrDefault(app.Assignment[k]) + app.Subtasks[k].Demand;
            foreach (var edge in app.Edges)
                foreach (var (a, b) in Ends(app, edge))
                    foreach (var l in network.PathLinks(a, b))
                    {
                        footprint.RouteLinks.Add(l);
                        footprint.LinkRates[l] = footprint.LinkRates.GetValueOrDefault(l) + edge.DataRateMbps;
                    }
            return footprint;
        }

        // Same pairing as the checker: a user end stands for each of the user's access nodes.
        private static IEnumerable<(int, int)> Ends(RunningApp app, SubtaskEdge edge)
        {
            int NodeOf(int end) => end == SubtaskEdge.User ? -1 : app.Assignment[end];
            if (edge.From == SubtaskEdge.User && edge.To == SubtaskEdge.User) yield break;
            if (edge.From == SubtaskEdge.User || edge.To == SubtaskEdge.User)
            {
                var placed = NodeOf(edge.From == SubtaskEdge.User ? edge.To : edge.From);
                if (placed < 0) yield break;
                foreach (var u in app.UserAccessNodes) yield return edge.From == SubtaskEdge.User ? (u, placed) : (placed, u);
                yield break;
            }
            if (NodeOf(edge.From) >= 0 && NodeOf(edge.To) >= 0) yield return (NodeOf(edge.From), NodeOf(edge.To));
        }
    }
}
