using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// Seeded microservice-like graphs for scale tests and property tests: services in domains of 5–30 with
/// heavy (log-normal) traffic inside a domain and light traffic across, a few pins, replica anti-affinity
/// and co-located sidecar pairs. Every component fits the given class on its own, and so does every co-location pair.
/// </summary>
public static class SyntheticAppGraphs
{
    public static ComponentGraph Microservices(int components, int seed, NodeClass fitsIn, double constrainedShare = 0.05)
    {
        var random = new Random(seed);
        var nodes = new List<ComponentNode>(components);
        var edges = new List<ComponentEdge>();
        var domainOf = new int[components];
        var domainStart = new List<int>();
        var domain = -1;
        var remainingInDomain = 0;
        for (var i = 0; i < components; i++)
        {
            if (remainingInDomain == 0)
            {
                domain++;
                domainStart.Add(i);
                remainingInDomain = random.Next(5, 31);
            }

            remainingInDomain--;
            domainOf[i] = domain;
            // Half the class at most, so a co-located pair still fits one node.
            var cpu = Math.Round(Math.Min(fitsIn.CpuCores / 2, 0.25 * Math.Pow(2, random.Next(0, 5))), 2);
            var memory = Math.Round(Math.Min(fitsIn.MemoryGb / 2, 0.5 * Math.Pow(2, random.Next(0, 5))), 2);
            var pinning = Pinning.None;
            string? anti = null;
            string? colocation = null;
            var roll = random.NextDouble();
            if (roll < constrainedShare / 3)
            {
                pinning = random.Next(2) == 0 ? Pinning.ToAccessNode() : Pinning.ToRegion("region-" + random.Next(3));
            }
            else if (roll < constrainedShare * 2 / 3)
            {
                anti = "replicas-" + domain;
            }
            else if (roll < constrainedShare && i > 0 && nodes[i - 1].ColocationGroup is null && domainOf[i - 1] == domain)
            {
                colocation = "pair-" + i;
                nodes[i - 1] = nodes[i - 1] with { ColocationGroup = colocation, Pinning = Pinning.None, AntiAffinityGroup = null };
            }

            nodes.Add(new ComponentNode
            {
                Id = $"svc-{i:0000}",
                CpuCores = cpu,
                MemoryGb = memory,
                StorageGb = Math.Round(random.NextDouble() * Math.Min(10, fitsIn.StorageGb / 2), 2),
                WorkMiPerRequest = Math.Round(random.NextDouble() * 50, 2),
                WorkMips = Math.Round(random.NextDouble() * 5000, 1),
                ExecutionTimeThresholdMs = random.NextDouble() < 0.3 ? 50 + random.Next(200) : null,
                Pinning = colocation is null ? pinning : Pinning.None,
                AntiAffinityGroup = colocation is null ? anti : null,
                ColocationGroup = colocation,
            });
        }

        var seen = new HashSet<(int, int)>();
        void AddEdge(int a, int b, double rate, double? delayMs)
        {
            if (a != b && seen.Add((a, b)))
            {
                edges.Add(new ComponentEdge { From = nodes[a].Id, To = nodes[b].Id, DataRateMbps = Math.Round(rate, 3), TransferDelayThresholdMs = delayMs });
            }
        }

        for (var i = 0; i < components; i++)
        {
            var start = domainStart[domainOf[i]];
            var end = domainOf[i] + 1 < domainStart.Count ? domainStart[domainOf[i] + 1] : components;
            // A tree inside the domain (so it is connected) plus a couple of extra calls.
            if (i > start)
            {
                AddEdge(random.Next(start, i), i, Math.Exp(random.NextDouble() * 4), random.NextDouble() < 0.2 ? 2 + random.Next(20) : null);
            }

            for (var extra = random.Next(0, 3); extra > 0; extra--)
            {
                AddEdge(i, random.Next(start, end), Math.Exp(random.NextDouble() * 3), null);
            }

            if (random.NextDouble() < 0.3)
            {
                AddEdge(i, random.Next(components), random.NextDouble() * 2, null);
            }
        }

        return new ComponentGraph($"synthetic/microservices-{components}-seed{seed}", nodes, edges);
    }
}
