using System.Globalization;
using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>Turns a partition of groups into the public records: subtasks with their needs and reasons, subtask edges, grades.</summary>
internal static class DecompositionBuilder
{
    public static Decomposition Infeasible(PartitionProblem p, string method) =>
        new(p.Graph.Name, p.Target.Name, p.Target, method, [], [], p.Graph.TotalTrafficMbps, 0, [.. p.Infeasibilities]);

    public static Decomposition Build(PartitionProblem p, int[] clusterOfGroup, string method)
    {
        var graph = p.Graph;
        var labels = Partitioning.Compact(clusterOfGroup, out var count);
        var subtaskOfComponent = p.GroupOfComponent.Select(g => labels[g]).ToArray();
        var members = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < subtaskOfComponent.Length; i++)
        {
            members[subtaskOfComponent[i]].Add(i);
        }

        var width = count.ToString(CultureInfo.InvariantCulture).Length;
        string IdOf(int s) => "s" + (s + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');

        // Directed subtask edges, aggregated.
        var edgeSums = new Dictionary<(int, int), (double Rate, double? Delay, double? Floor)>();
        var total = 0.0;
        var cut = 0.0;
        foreach (var e in graph.Edges)
        {
            var (from, to) = (subtaskOfComponent[p.ComponentIndex[e.From]], subtaskOfComponent[p.ComponentIndex[e.To]]);
            if (e.From != e.To)
            {
                total += e.DataRateMbps;
            }

            if (from == to)
            {
                continue;
            }

            cut += e.DataRateMbps;
            var sum = edgeSums.GetValueOrDefault((from, to));
            edgeSums[(from, to)] = (
                sum.Rate + e.DataRateMbps,
                MinOf(sum.Delay, e.TransferDelayThresholdMs),
                e.BandwidthFloorMbps is { } floor ? (sum.Floor ?? 0) + floor : sum.Floor);
        }

        var subtaskEdges = edgeSums.OrderBy(x => x.Key.Item1).ThenBy(x => x.Key.Item2)
            .Select(x => new SubtaskEdge(IdOf(x.Key.Item1), IdOf(x.Key.Item2), x.Value.Rate, x.Value.Delay, x.Value.Floor)).ToList();

        // One pass over the edges: each subtask's internal edges and its heaviest outgoing coupling, for the reasons.
        var internalEdges = Enumerable.Range(0, count).Select(_ => new List<(ComponentEdge Edge, int From, int To, double Coupling)>()).ToArray();
        var heaviestTo = Enumerable.Range(0, count).Select(_ => new Dictionary<int, (ComponentEdge Edge, double Coupling)>()).ToArray();
        foreach (var e in graph.Edges)
        {
            var (from, to) = (p.ComponentIndex[e.From], p.ComponentIndex[e.To]);
            var (a, b) = (subtaskOfComponent[from], subtaskOfComponent[to]);
            var coupling = p.Coupling(e);
            if (a == b)
            {
                if (from != to)
                {
                    internalEdges[a].Add((e, from, to, coupling));
                }

                continue;
            }

            if (!heaviestTo[a].TryGetValue(b, out var known) || coupling > known.Coupling)
            {
                heaviestTo[a][b] = (e, coupling);
            }

            if (!heaviestTo[b].TryGetValue(a, out known) || coupling > known.Coupling)
            {
                heaviestTo[b][a] = (e, coupling);
            }
        }

        var subtasks = new List<Subtask>(count);
        for (var s = 0; s < count; s++)
        {
            var parts = members[s].Select(i => graph.Components[i]).ToList();
            var thresholds = parts.Where(c => c.ExecutionTimeThresholdMs is not null).ToList();
            subtasks.Add(new Subtask(
                IdOf(s),
                [.. parts.Select(c => c.Id)],
                parts.Sum(c => c.CpuCores),
                parts.Sum(c => c.MemoryGb),
                parts.Sum(c => c.StorageGb),
                parts.Sum(c => c.Gpus),
                parts.Sum(c => c.WorkMips),
                parts.Sum(c => c.WorkMiPerRequest),
                thresholds.Count > 0 ? thresholds.Min(c => c.ExecutionTimeThresholdMs!.Value) : null,
                thresholds.Count > 0 ? thresholds.Max(c => c.WorkMiPerRequest * 1000 / c.ExecutionTimeThresholdMs!.Value) : 0,
                parts.Max(c => c.ReliabilityThreshold),
                parts.Select(c => c.Pinning).FirstOrDefault(pin => pin.IsPinned) ?? Pinning.None,
                [.. parts.Select(c => c.AntiAffinityGroup).OfType<string>().Where(a => a.Length > 0).Distinct().Order(StringComparer.Ordinal)],
                parts.Any(c => c.Sticky),
                Grade: 0,
                Rank: 0,
                CriticalityScore: 0,
                Reasons: Explain(p, members, s, internalEdges[s], heaviestTo[s], IdOf)));
        }

        var graded = SubtaskGrader.Grade(subtasks, subtaskEdges, p.Target);
        return new Decomposition(graph.Name, p.Target.Name, p.Target, method, graded, subtaskEdges, total, cut, []);
    }

    /// <summary>
    /// Why these components share a subtask: co-location rules, then a maximum spanning forest of the traffic
    /// inside it (each link a merge a reader can check); and why it was kept apart from its heaviest neighbour.
    /// </summary>
    private static List<string> Explain(
        PartitionProblem p,
        List<int>[] members,
        int self,
        List<(ComponentEdge Edge, int From, int To, double Coupling)> internalEdges,
        Dictionary<int, (ComponentEdge Edge, double Coupling)> heaviestTo,
        Func<int, string> idOf)
    {
        var graph = p.Graph;
        var memberComponents = members[self];
        var reasons = new List<string>();
        var root = memberComponents.ToDictionary(i => i, i => i);
        int Find(int x)
        {
            while (root[x] != x)
            {
                x = root[x] = root[root[x]];
            }

            return x;
        }

        foreach (var group in memberComponents.Where(i => graph.Components[i].ColocationGroup is { Length: > 0 }).GroupBy(i => graph.Components[i].ColocationGroup!))
        {
            var ids = group.ToList();
            if (ids.Count > 1)
            {
                reasons.Add($"co-located {string.Join("+", ids.Select(i => graph.Components[i].Id))}: co-location group '{group.Key}' requires one node");
                foreach (var i in ids.Skip(1))
                {
                    root[Find(i)] = Find(ids[0]);
                }
            }
        }

        foreach (var (edge, from, to, _) in internalEdges.OrderByDescending(x => x.Coupling))
        {
            if (Find(from) == Find(to))
            {
                continue;
            }

            root[Find(from)] = Find(to);
            var why = string.Create(CultureInfo.InvariantCulture, $"merged {edge.From}+{edge.To}: {edge.DataRateMbps:0.###} Mbps between them");
            if (edge.TransferDelayThresholdMs is { } t)
            {
                why += string.Create(CultureInfo.InvariantCulture, $", {t:0.###} ms threshold");
            }

            reasons.Add(why);
        }

        var loose = memberComponents.Where(i => Find(i) != Find(memberComponents[0])).Select(i => graph.Components[i].Id).ToList();
        if (loose.Count > 0)
        {
            reasons.Add($"packed {string.Join(", ", loose)} here: no direct traffic with the rest, but moving them elsewhere would cut more or break a cap");
        }

        if (memberComponents.Count == 1 && reasons.Count == 0)
        {
            reasons.Add($"{graph.Components[memberComponents[0]].Id} on its own");
        }

        // Why it stays apart from the (at most three) neighbours it talks to most.
        foreach (var (other, (edge, _)) in heaviestTo.OrderByDescending(x => x.Value.Coupling).ThenBy(x => x.Key).Take(3))
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"kept apart from {idOf(other)} despite {edge.From} → {edge.To} ({edge.DataRateMbps:0.###} Mbps): {WhyApart(p, members[self], members[other])}"));
        }

        return reasons;
    }

    private static string WhyApart(PartitionProblem p, List<int> a, List<int> b)
    {
        var graph = p.Graph;
        var inA = a.Select(i => graph.Components[i]).ToList();
        var inB = b.Select(i => graph.Components[i]).ToList();
        var pinA = inA.Select(c => c.Pinning).FirstOrDefault(x => x.IsPinned);
        var pinB = inB.Select(c => c.Pinning).FirstOrDefault(x => x.IsPinned);
        if (pinA is not null && pinB is not null && !pinA.IsCompatibleWith(pinB))
        {
            return $"one is {pinA}, the other {pinB}";
        }

        static bool Anchored(List<ComponentNode> side) => side.Any(c => c.Sticky) && !side.Any(c => c.Pinning.IsPinned);
        if (graph.UserMoves && ((Anchored(inA) && pinB is not null) || (Anchored(inB) && pinA is not null)))
        {
            var sticky = (Anchored(inA) ? inA : inB).First(c => c.Sticky);
            return $"{sticky.Id} is sticky and the user moves between access nodes, so it stays out of pinned subtasks that would drag it along";
        }

        var shared = inA.Select(c => c.AntiAffinityGroup).Intersect(inB.Select(c => c.AntiAffinityGroup)).OfType<string>().FirstOrDefault(x => x.Length > 0);
        if (shared is not null)
        {
            return $"both hold members of anti-affinity group '{shared}'";
        }

        double[] need = [inA.Sum(c => c.CpuCores) + inB.Sum(c => c.CpuCores), inA.Sum(c => c.MemoryGb) + inB.Sum(c => c.MemoryGb),
            inA.Sum(c => c.StorageGb) + inB.Sum(c => c.StorageGb), inA.Sum(c => c.Gpus) + inB.Sum(c => c.Gpus)];
        string[] names = ["cores", "GB memory", "GB storage", "GPUs"];
        for (var d = 0; d < PartitionProblem.Dimensions; d++)
        {
            if (need[d] > p.Capacity[d] + 1e-9)
            {
                return string.Create(CultureInfo.InvariantCulture, $"together they need {need[d]:0.##} {names[d]}, a {p.Target.Name} node has {p.Capacity[d]:0.##}");
            }
        }

        return "merging would fit, but the partition as a whole cuts less traffic this way";
    }

    private static double? MinOf(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
