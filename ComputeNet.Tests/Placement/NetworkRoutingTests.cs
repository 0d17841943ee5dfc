using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Generation;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement;

/// <summary>
/// The path latencies and routes that placement and re-placement use must be the shortest paths of the
/// network as it is now, whatever the route cache was asked before and whatever changed since: checked
/// against a plain Dijkstra per query and against a network that never answered anything else.
/// </summary>
public sealed class NetworkRoutingTests
{
    // The routing perturbation adds at most 1e-7 ms per hop.
    private const double Tolerance = 1e-5;

    [Fact]
    public void Routes_match_a_reference_dijkstra_through_any_history_of_queries_and_link_changes()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var random = new Random(seed);
                var meshed = random.Next(6, 70);
                // Whole-millisecond latencies on half the runs: equal-latency paths everywhere. Edge and
                // device trees hanging off the mesh on half the runs: routes through the contracted core.
                var ties = random.NextDouble() < 0.5;
                var grown = random.NextDouble() < 0.5 ? meshed + random.Next(1, 3 * meshed) : 0;
                var fleet = InstanceGenerator.BuildFleet(InstanceGenerator.RandomTopology(seed, meshed), new GeneratorOptions(Seed: seed, TargetNodeCount: grown));
                var n = fleet.Nodes.Count;
                var links = fleet.Network.Links.Select(l => ties ? l with { LatencyMs = 1 + random.Next(3) } : l).ToArray();
                // Networks derived from each other stay alive and are queried in any order, as running
                // apps' views and forecast views are while the fleet moves on.
                // A small cache on half the runs: searches are dropped and their arrays reused for other sources.
                var live = new List<Network> { new(n, links, maxCachedSources: random.NextDouble() < 0.5 ? random.Next(1, 6) : 1024) };
                for (var step = 0; step < 120; step++)
                {
                    var network = live[random.Next(live.Count)];
                    if (random.NextDouble() < 0.15) live.Add(Derive(network, random));
                    else AssertQueryAnswersAsReference(network, random, $"seed {seed}, step {step}");
                }
                return true;
            }));
    }

    [Fact]
    public void Trees_hanging_off_the_mesh_and_separate_components_route_as_a_plain_dijkstra_does()
    {
        // A triangle 0-1-2 with a chain 3-4 off node 0 and a leaf 5 off node 2; a separate tree 6-7-8
        // (7 in the middle); an isolated node 9; a separate cycle 10-11 joined by two parallel links.
        var network = new Network(12,
        [
            new LinkSpec(0, 1, 1000, 1), new LinkSpec(1, 2, 1000, 1), new LinkSpec(2, 0, 1000, 5),
            new LinkSpec(0, 3, 100, 2), new LinkSpec(3, 4, 100, 3), new LinkSpec(2, 5, 100, 4),
            new LinkSpec(6, 7, 100, 1), new LinkSpec(7, 8, 100, 2),
            new LinkSpec(10, 11, 100, 1), new LinkSpec(11, 10, 100, 3),
        ]);
        // Core: the triangle, one node of the 6-7-8 tree, node 9, and the 10-11 pair.
        network.CoreNodeCount.ShouldBe(7);
        for (var a = 0; a < network.NodeCount; a++)
        {
            var distance = ReferenceDistances(network, a);
            for (var b = 0; b < network.NodeCount; b++)
            {
                if (double.IsPositiveInfinity(distance[b]))
                {
                    network.LatencyMs(a, b).ShouldBe(double.PositiveInfinity, $"{a} → {b}");
                    network.PathLinks(a, b).ShouldBeEmpty($"{a} → {b}");
                    continue;
                }
                network.LatencyMs(a, b).ShouldBe(distance[b], Tolerance, $"{a} → {b}");
                if (a != b) PathLatency(network, network.PathLinks(a, b), a, b).ShouldBe(distance[b], Tolerance, $"{a} → {b}");
            }
        }
        network.PathLinks(4, 5).ShouldBe([5, 1, 0, 3, 4]);
        network.PathLinks(6, 8).ShouldBe([7, 6]);
        network.TryRoute(4, 5, [], out _, out var bottleneck, maxLatencyMs: 11).ShouldBeTrue();
        bottleneck.ShouldBe(100);
        network.TryRoute(4, 5, [], out _, out _, maxLatencyMs: 10.5).ShouldBeFalse();
    }

    [Fact]
    public void A_fleet_grown_with_edge_and_device_trees_searches_only_its_meshed_core()
    {
        var topology = InstanceGenerator.RandomTopology(7, 40);
        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: 7, TargetNodeCount: 2_000));
        fleet.Network.CoreNodeCount.ShouldBeLessThanOrEqualTo(40);
        fleet.Network.CoreNodeCount.ShouldBeGreaterThan(2);
    }

    [Fact]
    public void Route_links_are_the_same_whichever_end_routes()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var random = new Random(seed);
                var n = random.Next(6, 60);
                var links = InstanceGenerator.BuildFleet(InstanceGenerator.RandomTopology(seed, n), new GeneratorOptions(Seed: seed)).Network.Links
                    .Select(l => l with { LatencyMs = 1 + random.Next(2) }).ToArray();
                var network = new Network(n, links);
                for (var q = 0; q < 60; q++)
                {
                    int a = random.Next(n), b = random.Next(n);
                    Enumerable.Reverse(network.PathLinks(a, b)).ShouldBe(new Network(n, links).PathLinks(b, a), $"seed {seed}: {a} ↔ {b}");
                }
                return true;
            }));
    }

    [Fact]
    public void A_bounded_route_query_refuses_only_routes_longer_than_the_bound_and_the_search_resumes()
    {
        var network = new Network(4, [new LinkSpec(0, 1, 1000, 1), new LinkSpec(1, 2, 1000, 1), new LinkSpec(2, 3, 1000, 1)]);
        network.TryRoute(0, 3, [], out _, out _, maxLatencyMs: 2.5).ShouldBeFalse();
        network.TryRoute(0, 2, [], out var latency, out _, maxLatencyMs: 2.5).ShouldBeTrue();
        latency.ShouldBe(2, Tolerance);
        network.LatencyMs(0, 3).ShouldBe(3, Tolerance);
        network.PathLinks(0, 3).ShouldBe([2, 1, 0]);
    }

    [Fact]
    public void Re_placement_after_a_latency_rise_decides_as_on_a_network_that_never_cached_a_route()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var random = new Random(seed);
                var problem = RandomInstances.Create(seed, minNodes: 15, maxNodes: 50, minSubtasks: 3, maxSubtasks: 8);
                if (new ObjectiveGreedyPolicy().Place(problem) is not PlacementPlan plan) return true;
                var fleet = new RunningFleet(problem.Nodes, problem.Network);
                fleet.Add(new RunningApp("app", problem.Subtasks, problem.Edges, problem.UserAccessNodes, plan.Assignment));
                for (var change = 0; change < 4; change++)
                {
                    // Slow down (or speed up) a link the app routes over, or any link.
                    var routed = Enumerable.Range(0, problem.Edges.Count)
                        .SelectMany(e => new PartialPlan(problem, fleet.App("app").Assignment).EdgeEnds(problem.Edges[e]) ?? [])
                        .SelectMany(ends => fleet.Network.PathLinks(ends.Item1, ends.Item2)).Distinct().ToArray();
                    var link = routed.Length > 0 && random.NextDouble() < 0.8 ? routed[random.Next(routed.Length)] : random.Next(fleet.Network.Links.Count);
                    var latency = fleet.Network.Links[link].LatencyMs * (random.NextDouble() < 0.7 ? 5 + random.Next(20) : 0.2);
                    fleet.Apply(new LinkChanged(link, LatencyMs: latency));

                    var view = fleet.ProblemFor("app");
                    var fresh = new PlacementProblem(view.Nodes, new Network(view.Nodes.Count, view.Network.Links), view.Subtasks, view.Edges, view.UserAccessNodes, view.PlacementOrder);
                    var current = fleet.App("app").Assignment;
                    FeasibilityChecker.Default.Validate(view, current).Select(v => v.ToString())
                        .ShouldBe(FeasibilityChecker.Default.Validate(fresh, current).Select(v => v.ToString()), $"seed {seed}, change {change}");
                    var repaired = new GreedyRepairPolicy().Replace(view, current).Result;
                    var reference = new GreedyRepairPolicy().Replace(fresh, current).Result;
                    Describe(repaired).ShouldBe(Describe(reference), $"seed {seed}, change {change}");
                    if (repaired is PlacementPlan moved)
                    {
                        FeasibilityChecker.Default.Validate(fresh, moved.Assignment).ShouldBeEmpty($"seed {seed}, change {change}");
                        fleet.Reassign("app", moved.Assignment);
                    }
                }
                return true;
            }));
    }

    private static string Describe(PlacementResult result) => result switch
    {
        PlacementPlan plan => "plan " + string.Join(",", plan.Assignment),
        PlacementRejection rejection => $"rejected {rejection.Constraint} {rejection.SubtaskId}",
        _ => result.GetType().Name,
    };

    private static Network Derive(Network network, Random random)
    {
        var links = network.Links.ToArray();
        switch (random.Next(4))
        {
            case 0: // latencies up or down (re-routes)
                for (var c = random.Next(1, 4); c > 0; c--)
                {
                    var l = random.Next(links.Length);
                    links[l] = links[l] with { LatencyMs = links[l].LatencyMs * (random.NextDouble() < 0.5 ? 2 + random.Next(5) : 0.25) };
                }
                return network.WithLinks(links);
            case 1: // bandwidth only
                for (var c = random.Next(1, 4); c > 0; c--)
                {
                    var l = random.Next(links.Length);
                    links[l] = links[l] with { BandwidthMbps = links[l].BandwidthMbps * random.NextDouble() };
                }
                return network.WithLinks(links);
            case 2: // an app's traffic taken out or put in
                return network.WithLinkUsageChange(Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(links.Length)).Distinct()
                    .ToDictionary(l => l, _ => (random.NextDouble() - 0.5) * 200));
            default:
                return network.WithLinkUsage(links.Select(l => random.NextDouble() * l.BandwidthMbps).ToArray());
        }
    }

    private static void AssertQueryAnswersAsReference(Network network, Random random, string where)
    {
        var n = network.NodeCount;
        int a = random.Next(n), b = random.Next(n);
        var distance = ReferenceDistances(network, a);
        var fresh = new Network(n, network.Links);
        where += $", {a} → {b}";
        switch (random.Next(5))
        {
            case 0:
                network.LatencyMs(a, b).ShouldBe(distance[b], Tolerance, where);
                break;
            case 1:
            {
                var path = network.PathLinks(a, b);
                path.ShouldBe(fresh.PathLinks(a, b), where);
                if (!double.IsPositiveInfinity(distance[b])) PathLatency(network, path, a, b).ShouldBe(distance[b], Tolerance, where);
                break;
            }
            case 2:
            {
                // Bounded as the transfer-delay check asks; bounds away from the distance itself.
                var bound = double.IsPositiveInfinity(distance[b]) ? 5.0 : distance[b] + (distance[b] >= 0.5 && random.NextDouble() < 0.5 ? -0.5 : 0.5);
                var route = new List<int>();
                var found = network.TryRoute(a, b, route, out var latency, out var bottleneck, bound);
                found.ShouldBe(distance[b] <= bound, where);
                if (!found) break;
                latency.ShouldBe(distance[b], Tolerance, where);
                route.ToArray().ShouldBe(fresh.PathLinks(a, b), where);
                bottleneck.ShouldBe(a == b ? double.PositiveInfinity : route.Min(network.AvailableMbps), where);
                network.BottleneckMbps(a, b).ShouldBe(fresh.BottleneckMbps(a, b), where);
                break;
            }
            case 3:
            {
                var count = random.Next(1, n + 1);
                var nearest = network.NearestNodes(a, count);
                nearest.ShouldBe(fresh.NearestNodes(a, count), where);
                nearest.Select(v => distance[v]).ShouldBe(distance.Where(d => !double.IsPositiveInfinity(d)).Order().Take(count), Tolerance, where);
                break;
            }
            default:
                // Warm the searches to some depth so that later questions meet partial states.
                network.TryRoute(a, b, [], out _, out _, random.NextDouble() * 10);
                break;
        }
    }

    private static double PathLatency(Network network, int[] path, int from, int to)
    {
        var at = to;
        var sum = 0.0;
        foreach (var l in path)
        {
            var link = network.Links[l];
            at.ShouldBeOneOf(link.NodeA, link.NodeB);
            at = link.NodeA == at ? link.NodeB : link.NodeA;
            sum += link.LatencyMs;
        }
        at.ShouldBe(from);
        return sum;
    }

    /// <summary>Textbook Dijkstra on the links' latencies (no perturbation, no cache).</summary>
    private static double[] ReferenceDistances(Network network, int source)
    {
        var distance = Enumerable.Repeat(double.PositiveInfinity, network.NodeCount).ToArray();
        var done = new bool[network.NodeCount];
        distance[source] = 0;
        for (var round = 0; round < network.NodeCount; round++)
        {
            var u = -1;
            for (var v = 0; v < network.NodeCount; v++)
                if (!done[v] && (u < 0 || distance[v] < distance[u])) u = v;
            if (u < 0 || double.IsPositiveInfinity(distance[u])) break;
            done[u] = true;
            foreach (var link in network.Links)
            {
                var other = link.NodeA == u ? link.NodeB : link.NodeB == u ? link.NodeA : -1;
                if (other >= 0) distance[other] = Math.Min(distance[other], distance[u] + link.LatencyMs);
            }
        }
        return distance;
    }
}
