using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Generation;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Placement;

/// <summary>The route cache must answer exactly as a fresh network would, whatever was asked before and whatever changed since.</summary>
public sealed class NetworkRoutingTests
{
    [Fact]
    public void Cached_searches_handed_over_after_latency_changes_route_as_a_fresh_network_does()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60),
            Prop.ForAll(RandomInstances.Seeds, seed =>
            {
                var random = new Random(seed);
                var fleet = InstanceGenerator.BuildFleet(InstanceGenerator.RandomTopology(seed, random.Next(10, 60)), new GeneratorOptions(Seed: seed));
                var network = fleet.Network;
                var n = network.NodeCount;
                // Warm searches to various depths, some bounded, so that handed-over states are partial.
                for (var i = 0; i < 30; i++)
                    network.TryRoute(random.Next(n), random.Next(n), [], out _, out _, random.NextDouble() < 0.5 ? random.NextDouble() * 20 : double.PositiveInfinity);
                for (var round = 0; round < 3; round++)
                {
                    var links = network.Links.ToArray();
                    for (var changes = random.Next(1, 3); changes > 0; changes--)
                    {
                        var l = random.Next(links.Length);
                        links[l] = links[l] with { LatencyMs = links[l].LatencyMs * (random.NextDouble() < 0.5 ? 3 : 0.2) };
                    }
                    network = network.WithLinks(links);
                    var fresh = new Network(n, links);
                    for (var q = 0; q < 40; q++)
                    {
                        int a = random.Next(n), b = random.Next(n);
                        network.LatencyMs(a, b).ShouldBe(fresh.LatencyMs(a, b), 1e-9, $"seed {seed}, {a} → {b}");
                        network.PathLinks(a, b).ShouldBe(fresh.PathLinks(a, b), $"seed {seed}, {a} → {b}");
                    }
                }
                return true;
            }));
    }

    [Fact]
    public void A_bounded_route_query_refuses_only_routes_longer_than_the_bound()
    {
        var network = new Network(4, [new LinkSpec(0, 1, 1000, 1), new LinkSpec(1, 2, 1000, 1), new LinkSpec(2, 3, 1000, 1)]);
        network.TryRoute(0, 3, [], out _, out _, maxLatencyMs: 2.5).ShouldBeFalse();
        network.TryRoute(0, 2, [], out var latency, out _, maxLatencyMs: 2.5).ShouldBeTrue();
        latency.ShouldBe(2, 1e-5);
        // The bounded search resumes: the unbounded question still gets its answer.
        network.LatencyMs(0, 3).ShouldBe(3, 1e-5);
    }

    [Fact]
    public void A_usage_view_changes_only_its_links_and_leaves_its_basis_alone()
    {
        var links = Enumerable.Range(0, 600).Select(i => new LinkSpec(i, i + 1, 1000, 1)).ToArray();
        var basis = new Network(601, links);
        var view = basis.WithLinkUsageChange(new Dictionary<int, double> { [3] = 400 });
        view.AvailableMbps(3).ShouldBe(600);
        view.Links[3].UsedMbps.ShouldBe(400);
        view.AvailableMbps(4).ShouldBe(1000);
        basis.AvailableMbps(3).ShouldBe(1000);
        // Enough changes to flatten the view into arrays of its own: the same answers.
        var wide = view.WithLinkUsageChange(Enumerable.Range(0, 500).ToDictionary(l => l, _ => 100.0));
        wide.AvailableMbps(3).ShouldBe(500);
        wide.AvailableMbps(499).ShouldBe(900);
        wide.AvailableMbps(550).ShouldBe(1000);
        wide.Links.Sum(l => l.UsedMbps).ShouldBe(400 + 500 * 100);
        view.AvailableMbps(499).ShouldBe(1000);
    }
}
