using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement.Generation;

/// <summary>A network graph as read from the Internet Topology Zoo (or made up for tests).</summary>
public sealed record ZooTopology(string Name, IReadOnlyList<ZooNode> Nodes, IReadOnlyList<ZooEdge> Edges);

public sealed record ZooNode(string Label, double? Latitude, double? Longitude);

public sealed record ZooEdge(int NodeA, int NodeB, double? LinkSpeedBitsPerSecond);

/// <summary>A fleet: nodes with capacities, usage and power, and the network between them.</summary>
public sealed record Fleet(IReadOnlyList<NodeSpec> Nodes, Network Network)
{
    /// <summary>The fleet after a plan is committed: its demands become used capacity, its data rates used bandwidth.</summary>
    public Fleet Commit(PlacementProblem problem, IReadOnlyList<int> assignment)
    {
        var nodes = Nodes.ToArray();
        var plan = new PartialPlan(problem, assignment);
        foreach (var v in plan.TouchedNodes) nodes[v] = nodes[v] with
        {
            Used = nodes[v].Used + plan.AddedLoad(v),
            ForecastAvailable = nodes[v].ForecastAvailable is { } f ? f - plan.AddedLoad(v) : null,
        };
        var used = Network.Links.Select((l, i) => l.UsedMbps + plan.LinkLoadMbps(i)).ToArray();
        return new Fleet(nodes, Network.WithLinkUsage(used));
    }
}

/// <summary>A decomposed application: subtasks and their edges (endpoint −1 = the user).</summary>
public sealed record AppSpec(string Name, IReadOnlyList<Subtask> Subtasks, IReadOnlyList<SubtaskEdge> Edges);

/// <param name="Seed">Everything random derives from this one seed.</param>
/// <param name="TargetNodeCount">Grow the topology to this many nodes by attaching edge and device nodes (0 = keep the topology's size).</param>
/// <param name="CloudFraction">Share of the topology's nodes (highest degree first) that become cloud data centres.</param>
/// <param name="DeviceShareOfAttached">Share of attached nodes that are devices (the rest are extra edge sites).</param>
/// <param name="BackgroundLoad">Upper bound of the random share of each node already used by others.</param>
/// <param name="ForecastPessimism">Upper bound of how much less than (capacity − used) the forecast says is available.</param>
public sealed record GeneratorOptions(
    int Seed = 42,
    int TargetNodeCount = 0,
    double CloudFraction = 0.2,
    double DeviceShareOfAttached = 0.7,
    double BackgroundLoad = 0.3,
    double ForecastPessimism = 0.1,
    double FibreKmPerMs = 200,
    double PerHopMs = 0.1);

/// <summary>
/// Builds placement instances from real topologies with a fixed seed, documented here:
/// <list type="bullet">
/// <item>Link latency = great-circle distance / 200 km per ms (light in fibre) + 0.1 ms per hop;
/// bandwidth = LinkSpeedRaw where the Zoo gives it, else 10 Gbps between clouds, 1 Gbps otherwise.</item>
/// <item>Tiers: the highest-degree 20% of the topology's nodes are cloud, the rest edge; attached
/// nodes are devices (100 Mbps, 1–5 ms access link to an edge) or extra edge sites (a few tens of km
/// from an existing site, 1 Gbps).</item>
/// <item>Region = the nearest cloud node.</item>
/// <item>Capacities, speed and reliability are drawn per tier (ranges in <see cref="TierProfile"/>);
/// power comes from SPECpower_ssj2008 servers (<see cref="SpecPowerServers"/>) scaled by core count.</item>
/// <item>Background usage up to 30% per dimension; the forecast of what is available is up to 10% lower.</item>
/// </list>
/// </summary>
public static class InstanceGenerator
{
    public static Fleet BuildFleet(ZooTopology topology, GeneratorOptions? options = null)
    {
        options ??= new GeneratorOptions();
        var random = new Random(options.Seed);
        var count = topology.Nodes.Count;
        var latitude = new List<double>();
        var longitude = new List<double>();
        FillCoordinates(topology, random, latitude, longitude);

        var degree = new int[count];
        foreach (var e in topology.Edges)
        {
            degree[e.NodeA]++;
            degree[e.NodeB]++;
        }
        var cloudCount = Math.Max(1, (int)Math.Round(count * options.CloudFraction));
        var clouds = Enumerable.Range(0, count).OrderByDescending(v => degree[v]).ThenBy(v => v).Take(cloudCount).ToHashSet();
        var tiers = Enumerable.Range(0, count).Select(v => clouds.Contains(v) ? NodeTier.Cloud : NodeTier.Edge).ToList();
        var labels = topology.Nodes.Select((n, i) => $"{topology.Name}-{i}-{n.Label}").ToList();

        var links = new List<LinkSpec>();
        var seen = new HashSet<(int, int)>();
        foreach (var e in topology.Edges)
        {
            if (e.NodeA == e.NodeB || !seen.Add((Math.Min(e.NodeA, e.NodeB), Math.Max(e.NodeA, e.NodeB)))) continue;
            var km = GreatCircleKm(latitude[e.NodeA], longitude[e.NodeA], latitude[e.NodeB], longitude[e.NodeB]);
            var bandwidth = e.LinkSpeedBitsPerSecond is > 0 ? e.LinkSpeedBitsPerSecond.Value / 1e6
                : tiers[e.NodeA] == NodeTier.Cloud && tiers[e.NodeB] == NodeTier.Cloud ? 10_000 : 1_000;
            links.Add(new LinkSpec(e.NodeA, e.NodeB, bandwidth, km / options.FibreKmPerMs + options.PerHopMs));
        }
        ConnectComponents(count, links, latitude, longitude, options);

        // Grow towards the target size: devices hang off edge sites, extra edge sites off any site.
        var edgeSites = Enumerable.Range(0, count).Where(v => tiers[v] != NodeTier.Device).ToList();
        var attachTo = Enumerable.Range(0, count).Where(v => tiers[v] == NodeTier.Edge).DefaultIfEmpty(0).ToList();
        while (tiers.Count < options.TargetNodeCount)
        {
            var v = tiers.Count;
            if (random.NextDouble() < options.DeviceShareOfAttached)
            {
                var parent = attachTo[random.Next(attachTo.Count)];
                tiers.Add(NodeTier.Device);
                latitude.Add(latitude[parent] + (random.NextDouble() - 0.5) * 0.05);
                longitude.Add(longitude[parent] + (random.NextDouble() - 0.5) * 0.05);
                links.Add(new LinkSpec(parent, v, 100, 1 + random.NextDouble() * 4));
                labels.Add($"{topology.Name}-dev{v}");
            }
            else
            {
                var parent = edgeSites[random.Next(edgeSites.Count)];
                tiers.Add(NodeTier.Edge);
                latitude.Add(latitude[parent] + (random.NextDouble() - 0.5) * 0.6);
                longitude.Add(longitude[parent] + (random.NextDouble() - 0.5) * 0.6);
                var km = GreatCircleKm(latitude[parent], longitude[parent], latitude[v], longitude[v]);
                links.Add(new LinkSpec(parent, v, 1_000, km / options.FibreKmPerMs + options.PerHopMs));
                labels.Add($"{topology.Name}-edge{v}");
                edgeSites.Add(v);
                attachTo.Add(v);
            }
        }

        var cloudList = clouds.OrderBy(c => c).ToArray();
        var nodes = new NodeSpec[tiers.Count];
        for (var v = 0; v < nodes.Length; v++)
        {
            var region = cloudList.MinBy(c => GreatCircleKm(latitude[v], longitude[v], latitude[c], longitude[c]));
            nodes[v] = TierProfile.Draw(labels[v], tiers[v], $"region-{region}", random, options);
        }
        return new Fleet(nodes, new Network(nodes.Length, links));
    }

    /// <summary>The placement question for one app arriving at one user access node.</summary>
    public static PlacementProblem Problem(Fleet fleet, AppSpec app, int userNode, IReadOnlyList<int>? placementOrder = null) =>
        new(fleet.Nodes, fleet.Network, app.Subtasks, app.Edges, [userNode], placementOrder);

    /// <summary>A random geographic topology for tests: nodes in a box, each linked to its nearest neighbours.</summary>
    public static ZooTopology RandomTopology(int seed, int nodeCount, double boxDegrees = 8)
    {
        var random = new Random(seed);
        var nodes = Enumerable.Range(0, nodeCount)
            .Select(i => new ZooNode($"n{i}", 45 + random.NextDouble() * boxDegrees, 5 + random.NextDouble() * boxDegrees)).ToArray();
        var edges = new List<ZooEdge>();
        for (var i = 1; i < nodeCount; i++)
        {
            var nearest = Enumerable.Range(0, i).OrderBy(j => Distance2(nodes[i], nodes[j])).Take(random.Next(1, 3));
            foreach (var j in nearest) edges.Add(new ZooEdge(i, j, random.NextDouble() < 0.5 ? null : 1e9 * random.Next(1, 11)));
        }
        return new ZooTopology($"random{seed}", nodes, edges);

        static double Distance2(ZooNode a, ZooNode b) =>
            Math.Pow(a.Latitude!.Value - b.Latitude!.Value, 2) + Math.Pow(a.Longitude!.Value - b.Longitude!.Value, 2);
    }

    public static double GreatCircleKm(double lat1, double lon1, double lat2, double lon2)
    {
        const double earthRadiusKm = 6371.0;
        double Rad(double deg) => deg * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var a = Math.Sin(dLat / 2) * Math.Sin(dLat / 2) +
                Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * earthRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }

    // External peers in the Zoo often lack coordinates: put them next to a located neighbour.
    private static void FillCoordinates(ZooTopology topology, Random random, List<double> latitude, List<double> longitude)
    {
        var located = topology.Nodes.Where(n => n.Latitude is not null && n.Longitude is not null).ToArray();
        var centreLat = located.Length > 0 ? located.Average(n => n.Latitude!.Value) : 0;
        var centreLon = located.Length > 0 ? located.Average(n => n.Longitude!.Value) : 0;
        for (var v = 0; v < topology.Nodes.Count; v++)
        {
            var node = topology.Nodes[v];
            if (node.Latitude is { } lat && node.Longitude is { } lon)
            {
                latitude.Add(lat);
                longitude.Add(lon);
                continue;
            }
            var neighbour = topology.Edges
                .Select(e => e.NodeA == v ? e.NodeB : e.NodeB == v ? e.NodeA : -1)
                .FirstOrDefault(u => u >= 0 && topology.Nodes[u].Latitude is not null, -1);
            latitude.Add((neighbour >= 0 ? topology.Nodes[neighbour].Latitude!.Value : centreLat) + (random.NextDouble() - 0.5) * 0.2);
            longitude.Add((neighbour >= 0 ? topology.Nodes[neighbour].Longitude!.Value : centreLon) + (random.NextDouble() - 0.5) * 0.2);
        }
    }

    // Some Zoo networks are disconnected; join each stray component to its geographically nearest node.
    private static void ConnectComponents(int count, List<LinkSpec> links, List<double> latitude, List<double> longitude, GeneratorOptions options)
    {
        var parent = Enumerable.Range(0, count).ToArray();
        int Find(int v) => parent[v] == v ? v : parent[v] = Find(parent[v]);
        foreach (var l in links) parent[Find(l.NodeA)] = Find(l.NodeB);
        for (var v = 1; v < count; v++)
        {
            if (Find(v) == Find(0)) continue;
            var root = Find(0);
            var target = Enumerable.Range(0, count).Where(u => Find(u) == root)
                .MinBy(u => GreatCircleKm(latitude[v], longitude[v], latitude[u], longitude[u]));
            var km = GreatCircleKm(latitude[v], longitude[v], latitude[target], longitude[target]);
            links.Add(new LinkSpec(v, target, 1_000, km / options.FibreKmPerMs + options.PerHopMs));
            parent[Find(v)] = Find(target);
        }
    }
}

/// <summary>
/// SPECpower_ssj2008 measured wall power at 0% and 100% load, carried over as numbers from the
/// published results (spec.org, power_ssj2008 results 2009q4–2011q2, as collected in CloudSim's
/// PowerModelSpecPower* files). Cores are per server.
/// </summary>
public static class SpecPowerServers
{
    public sealed record Server(string Model, int Cores, double IdleW, double PeakW);

    public static readonly IReadOnlyList<Server> All =
    [
        new("HP ProLiant ML110 G3 (Pentium D 930)", 2, 105, 169),
        new("HP ProLiant ML110 G4 (Xeon 3040)", 2, 86, 117),
        new("HP ProLiant ML110 G5 (Xeon 3075)", 2, 93.7, 135),
        new("IBM x3250 (Xeon X3470)", 4, 41.6, 113),
        new("IBM x3250 (Xeon X3480)", 4, 42.3, 113),
        new("IBM x3550 (Xeon X5670)", 12, 66, 247),
        new("IBM x3550 (Xeon X5675)", 12, 58.4, 222),
    ];
}

/// <summary>Per-tier ranges the generator draws from (assumptions, stated so they can be argued with).</summary>
public static class TierProfile
{
    public static NodeSpec Draw(string id, NodeTier tier, string region, Random random, GeneratorOptions options)
    {
        double Between(double low, double high) => low + random.NextDouble() * (high - low);
        Resources capacity;
        double speed, reliability, idleW, peakW;
        switch (tier)
        {
            case NodeTier.Cloud:
                capacity = new Resources(random.Next(4, 9) * 16, random.Next(4, 9) * 64, random.Next(4, 11) * 1000, random.Next(0, 3) * 4);
                speed = Between(2500, 3500);
                reliability = Between(0.999, 0.9999);
                (idleW, peakW) = ServerPower(random, capacity.CpuCores, bigServers: true);
                break;
            case NodeTier.Edge:
                capacity = new Resources(random.Next(1, 5) * 8, random.Next(1, 5) * 32, random.Next(1, 5) * 500, random.NextDouble() < 0.3 ? 1 : 0);
                speed = Between(2000, 3000);
                reliability = Between(0.99, 0.999);
                (idleW, peakW) = ServerPower(random, capacity.CpuCores, bigServers: false);
                break;
            default:
                // Gateways and single-board devices: no SPECpower data at this size, so a few watts.
                capacity = new Resources(random.Next(1, 5), random.Next(1, 9), random.Next(1, 5) * 16, 0);
                speed = Between(500, 1500);
                reliability = Between(0.9, 0.99);
                idleW = Between(2, 5);
                peakW = idleW + Between(4, 10);
                break;
        }
        var usedShare = new Resources(random.NextDouble(), random.NextDouble(), random.NextDouble(), random.NextDouble());
        var used = new Resources(
            Math.Round(capacity.CpuCores * usedShare.CpuCores * options.BackgroundLoad, 2),
            Math.Round(capacity.MemoryGb * usedShare.MemoryGb * options.BackgroundLoad, 2),
            Math.Round(capacity.StorageGb * usedShare.StorageGb * options.BackgroundLoad, 2),
            Math.Floor(capacity.Gpus * usedShare.Gpus * options.BackgroundLoad));
        var pessimism = 1 - random.NextDouble() * options.ForecastPessimism;
        var free = capacity - used;
        var forecast = new Resources(free.CpuCores * pessimism, free.MemoryGb * pessimism, free.StorageGb * pessimism, free.Gpus);
        return new NodeSpec(id, tier, region, capacity, Math.Round(speed), Math.Round(reliability, 4), Math.Round(idleW, 1), Math.Round(peakW, 1))
        {
            Used = used,
            ForecastAvailable = forecast,
        };
    }

    private static (double IdleW, double PeakW) ServerPower(Random random, double cores, bool bigServers)
    {
        var pool = SpecPowerServers.All.Where(s => bigServers ? s.Cores >= 12 : s.Cores <= 4).ToArray();
        var server = pool[random.Next(pool.Length)];
        var servers = Math.Max(1, cores / server.Cores);
        return (server.IdleW * servers, server.PeakW * servers);
    }
}
