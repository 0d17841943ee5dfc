using ComputeNet.Actors.Topology;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Topology;

public sealed class NetworkGraphTests
{
    [Fact]
    public void Shortest_latency_path_avoids_down_links_and_reports_bottleneck_and_loss()
    {
        LinkEdge[] links =
        [
            new("a", "b", 5, 1000, 0.0, true),
            new("b", "d", 5, 100, 0.01, true),
            new("a", "c", 2, 1000, 0.0, true),
            new("c", "d", 2, 1000, 0.0, false), // down: not usable
            new("d", "e", 1, 500, 0.0, true),
        ];
        var path = NetworkGraph.ShortestLatencyPath(links, "a", "e")!;
        path.Nodes.ShouldBe(["a", "b", "d", "e"]);
        path.LatencyMs.ShouldBe(11);
        path.BottleneckMbps.ShouldBe(100);
        path.LossRate.ShouldBe(0.01, 1e-12);

        var reverse = NetworkGraph.ShortestLatencyPath(links, "e", "a")!; // links work both ways
        reverse.Nodes.ShouldBe(["e", "d", "b", "a"]);
        NetworkGraph.ShortestLatencyPath(links, "a", "zz").ShouldBeNull();
    }

    [Fact]
    public void Path_latency_is_never_more_than_any_direct_link_between_the_same_nodes()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 50; trial++)
        {
            var links = Enumerable.Range(0, 40).Select(_ =>
            {
                var a = random.Next(12);
                var b = (a + 1 + random.Next(11)) % 12;
                return new LinkEdge($"n{a}", $"n{b}", random.NextDouble() * 20, 100, 0, random.NextDouble() > 0.2);
            }).ToList();
            foreach (var link in links.Where(l => l.Up))
                NetworkGraph.ShortestLatencyPath(links, link.Src, link.Dst)!.LatencyMs.ShouldBeLessThanOrEqualTo(link.LatencyMs + 1e-9);
        }
    }
}
