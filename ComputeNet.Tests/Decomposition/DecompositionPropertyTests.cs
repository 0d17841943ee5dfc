using ComputeNet.Actors.Model;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace ComputeNet.Tests.Decomposition;

/// <summary>Invariants every partitioner keeps, on random graphs with dense pins, anti-affinity and co-location.</summary>
public sealed class DecompositionPropertyTests
{
    private static readonly NodeClass Cap = new("test-edge", NodeTier.Edge, 6, 12, 100, 2, 3_000, 0.99);

    private static readonly Pinning[] Pins =
        [Pinning.ToAccessNode("alice"), Pinning.ToAccessNode("bob"), Pinning.ToRegion("cn-east"), Pinning.ToTier(NodeTier.Cloud), Pinning.ToNode("edge-7")];

    /// <summary>A random graph whose every component (and co-located pair) fits <see cref="Cap"/> alone.</summary>
    internal static ComponentGraph RandomGraph(int seed, int size)
    {
        var random = new Random(seed);
        var nodes = new List<ComponentNode>();
        for (var i = 0; i < size; i++)
        {
            var roll = random.NextDouble();
            var node = new ComponentNode
            {
                Id = $"c{i}",
                CpuCores = Math.Round(0.1 + random.NextDouble() * 2.9, 2),
                MemoryGb = Math.Round(random.NextDouble() * 6, 2),
                StorageGb = Math.Round(random.NextDouble() * 20, 1),
                Gpus = random.NextDouble() < 0.15 ? 1 : 0,
                WorkMiPerRequest = random.Next(0, 50),
                ExecutionTimeThresholdMs = random.NextDouble() < 0.3 ? 20 + random.Next(100) : null,
                ReliabilityThreshold = random.NextDouble() < 0.3 ? 0.99 : 0,
                Pinning = roll < 0.25 ? Pins[random.Next(Pins.Length)] : Pinning.None,
                AntiAffinityGroup = random.NextDouble() < 0.2 ? "replicas-" + random.Next(2) : null,
                Sticky = random.NextDouble() < 0.1,
            };
            // Co-locate with the previous one now and then, keeping the pair satisfiable.
            if (i > 0 && random.NextDouble() < 0.15 && nodes[i - 1].ColocationGroup is null)
            {
                var group = "pair-" + i;
                nodes[i - 1] = nodes[i - 1] with { ColocationGroup = group };
                node = node with { ColocationGroup = group, Pinning = nodes[i - 1].Pinning, AntiAffinityGroup = null, Gpus = 0 };
            }

            nodes.Add(node);
        }

        var edges = new List<ComponentEdge>();
        var seen = new HashSet<(int, int)>();
        for (var e = 0; e < size * 2 && size > 1; e++)
        {
            var (a, b) = (random.Next(size), random.Next(size));
            if (a != b && seen.Add((a, b)))
            {
                edges.Add(new ComponentEdge
                {
                    From = nodes[a].Id,
                    To = nodes[b].Id,
                    DataRateMbps = Math.Round(Math.Exp(random.NextDouble() * 6) - 1, 3),
                    TransferDelayThresholdMs = random.NextDouble() < 0.3 ? 1 + random.Next(50) : null,
                    BandwidthFloorMbps = random.NextDouble() < 0.1 ? 5 : null,
                });
            }
        }

        return new ComponentGraph($"random-{seed}-{size}", nodes, edges);
    }

    private static Arbitrary<(int Seed, int Size)> Graphs(int maxSize) =>
        Gen.Zip(Gen.Choose(0, int.MaxValue - 1), Gen.Choose(1, maxSize)).ToArbitrary();

    /// <summary>Checks every invariant; returns the first broken one as text, or null.</summary>
    internal static string? Violation(ComponentGraph graph, NodeClass cap, ComputeNet.Actors.Decomposition.Decomposition d)
    {
        if (!d.IsFeasible)
        {
            return "infeasible: " + string.Join("; ", d.Infeasibilities);
        }

        var placed = d.Subtasks.SelectMany(s => s.ComponentIds).ToList();
        if (placed.Count != graph.Components.Count || placed.Distinct().Count() != placed.Count || !placed.ToHashSet().SetEquals(graph.Components.Select(c => c.Id)))
        {
            return "components are not each in exactly one subtask";
        }

        var byId = graph.Components.ToDictionary(c => c.Id);
        foreach (var s in d.Subtasks)
        {
            var members = s.ComponentIds.Select(id => byId[id]).ToList();
            if (members.Sum(c => c.CpuCores) > cap.CpuCores + 1e-6 || members.Sum(c => c.MemoryGb) > cap.MemoryGb + 1e-6
                || members.Sum(c => c.StorageGb) > cap.StorageGb + 1e-6 || members.Sum(c => c.Gpus) > cap.Gpus)
            {
                return $"{s.Id} exceeds the cap";
            }

            if (Math.Abs(members.Sum(c => c.CpuCores) - s.CpuCores) > 1e-6 || members.Sum(c => c.Gpus) != s.Gpus)
            {
                return $"{s.Id} does not sum its members";
            }

            var pins = members.Select(c => c.Pinning).Where(p => p.IsPinned).ToList();
            if (pins.Any(p => !p.IsCompatibleWith(pins[0])) || (pins.Count > 0 && !s.Pinning.IsCompatibleWith(pins[0])) || (pins.Count == 0 && s.Pinning.IsPinned))
            {
                return $"{s.Id} mixes pins";
            }

            var anti = members.Select(c => c.AntiAffinityGroup).OfType<string>().ToList();
            if (anti.Distinct().Count() != anti.Count)
            {
                return $"{s.Id} holds two members of one anti-affinity group";
            }

            if (s.Reasons.Count == 0 || s.Rank < 1 || s.Grade is < 1 or > 3)
            {
                return $"{s.Id} lacks reasons or grading";
            }
        }

        foreach (var group in graph.Components.Where(c => c.ColocationGroup is not null).GroupBy(c => c.ColocationGroup))
        {
            if (group.Select(c => d.SubtaskOf(c.Id).Id).Distinct().Count() != 1)
            {
                return $"co-location group {group.Key} is split";
            }
        }

        var ranks = d.Subtasks.Select(s => s.Rank).Order().ToList();
        if (!ranks.SequenceEqual(Enumerable.Range(1, d.Subtasks.Count)))
        {
            return "ranks are not 1..n";
        }

        var cut = d.SubtaskEdges.Sum(e => e.DataRateMbps);
        return Math.Abs(cut - d.CutTrafficMbps) > 1e-6 ? "subtask edges do not add up to the cut" : null;
    }

    [Fact]
    public void Graph_clustering_respects_caps_pins_anti_affinity_and_co_location_and_places_each_component_once()
    {
        Prop.ForAll(Graphs(80), input =>
        {
            var graph = RandomGraph(input.Seed, input.Size);
            return Violation(graph, Cap, GraphClusteringDecomposer.Decompose(graph, Cap)) is null;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Greedy_contraction_respects_the_same_invariants()
    {
        Prop.ForAll(Graphs(80), input =>
        {
            var graph = RandomGraph(input.Seed, input.Size);
            return Violation(graph, Cap, GreedyContractionDecomposer.Decompose(graph, Cap)) is null;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Graph_clustering_never_cuts_more_traffic_than_greedy_when_latency_is_not_weighted()
    {
        // One restart replays greedy's merge order and refinement only ever lowers the cut.
        var trafficOnly = new DecompositionOptions { LatencyTightnessMs = 0 };
        Prop.ForAll(Graphs(80), input =>
        {
            var graph = RandomGraph(input.Seed, input.Size);
            var ours = GraphClusteringDecomposer.Decompose(graph, Cap, trafficOnly);
            var greedy = GreedyContractionDecomposer.Decompose(graph, Cap, trafficOnly);
            return ours.CutTrafficMbps <= greedy.CutTrafficMbps + 1e-6;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Cp_sat_optimum_is_valid_and_never_worse_than_graph_clustering_on_small_graphs()
    {
        var trafficOnly = new DecompositionOptions { LatencyTightnessMs = 0 };
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), Prop.ForAll(Graphs(10), input =>
        {
            var graph = RandomGraph(input.Seed, input.Size);
            var (optimal, proven) = OptimalPartitionDecomposer.Decompose(graph, Cap, TimeSpan.FromSeconds(5), trafficOnly);
            var ours = GraphClusteringDecomposer.Decompose(graph, Cap, trafficOnly);
            return Violation(graph, Cap, optimal) is null && proven && optimal.CutTrafficMbps <= ours.CutTrafficMbps + 1e-3;
        }));
    }

    [Fact]
    public void Decomposition_is_deterministic_for_a_seed()
    {
        Prop.ForAll(Graphs(60), input =>
        {
            var graph = RandomGraph(input.Seed, input.Size);
            var first = GraphClusteringDecomposer.Decompose(graph, Cap);
            var second = GraphClusteringDecomposer.Decompose(graph, Cap);
            return first.Subtasks.Select(s => string.Join(",", s.ComponentIds)).SequenceEqual(second.Subtasks.Select(s => string.Join(",", s.ComponentIds)));
        }).QuickCheckThrowOnFailure();
    }
}
