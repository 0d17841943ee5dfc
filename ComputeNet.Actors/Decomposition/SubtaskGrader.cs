using System.Globalization;
using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// 分级 grading: scores each subtask's criticality so the scheduler places the hard ones first. The score is a
/// weighted sum of latency sensitivity, position on the critical path, reliability need, pinning and size,
/// each normalised to [0, 1]; the weights are stated here, not learnt.
/// </summary>
public static class SubtaskGrader
{
    public const double LatencyWeight = 0.35;
    public const double CriticalPathWeight = 0.25;
    public const double ReliabilityWeight = 0.2;
    public const double PinnedWeight = 0.1;
    public const double SizeWeight = 0.1;

    /// <summary>Score at or above which a subtask is grade 1 (hard).</summary>
    public const double HardScore = 0.55;

    /// <summary>Score at or above which a subtask is grade 2 (medium); below is grade 3.</summary>
    public const double MediumScore = 0.3;

    /// <summary>Returns the subtasks with score, grade and rank filled in and a grading reason appended, in their original order.</summary>
    public static IReadOnlyList<Subtask> Grade(IReadOnlyList<Subtask> subtasks, IReadOnlyList<SubtaskEdge> edges, Model.Apps.NodeClass target)
    {
        var index = subtasks.Select((s, i) => (s.Id, i)).ToDictionary(x => x.Id, x => x.i);
        var n = subtasks.Count;
        var tightestEdgeMs = new double[n];
        Array.Fill(tightestEdgeMs, double.PositiveInfinity);
        var outgoing = new List<int>[n];
        var incoming = new List<int>[n];
        for (var i = 0; i < n; i++)
        {
            outgoing[i] = [];
            incoming[i] = [];
        }

        foreach (var e in edges)
        {
            var (from, to) = (index[e.From], index[e.To]);
            outgoing[from].Add(to);
            incoming[to].Add(from);
            if (e.TransferDelayThresholdMs is { } t)
            {
                tightestEdgeMs[from] = Math.Min(tightestEdgeMs[from], t);
                tightestEdgeMs[to] = Math.Min(tightestEdgeMs[to], t);
            }
        }

        // Critical path over the subtask graph, weighting each subtask by its execution time on the target class.
        // Cycles (allowed in compute / complex apps) are cut at DFS back edges, so the longest path is well defined.
        var execMs = subtasks.Select(s => s.WorkMiPerRequest / Math.Max(1, target.SpeedMipsPerCore) * 1000).ToArray();
        var backEdges = new HashSet<(int, int)>();
        var order = DirectedDepthFirst.ReversePostOrder(outgoing, back => backEdges.Add((back.From, back.To)));
        var longestTo = new double[n];
        var longestFrom = new double[n];
        foreach (var v in order)
        {
            longestTo[v] += execMs[v];
            foreach (var w in outgoing[v].Where(w => !backEdges.Contains((v, w))))
            {
                longestTo[w] = Math.Max(longestTo[w], longestTo[v]);
            }
        }

        foreach (var v in order.AsEnumerable().Reverse())
        {
            var tail = outgoing[v].Where(w => !backEdges.Contains((v, w))).Select(w => longestFrom[w]).DefaultIfEmpty(0).Max();
            longestFrom[v] = execMs[v] + tail;
        }

        var overall = Enumerable.Range(0, n).Select(v => longestTo[v] + longestFrom[v] - execMs[v]).DefaultIfEmpty(0).Max();
        var scored = new (Subtask Subtask, double Score, string Why)[n];
        for (var i = 0; i < n; i++)
        {
            var s = subtasks[i];
            var tightestMs = Math.Min(s.ExecutionTimeThresholdMs ?? double.PositiveInfinity, tightestEdgeMs[i]);
            var latency = double.IsFinite(tightestMs) ? Math.Min(1, 10 / Math.Max(0.1, tightestMs)) : 0;
            var path = overall > 0 ? (longestTo[i] + longestFrom[i] - execMs[i]) / overall : 0;
            var reliability = s.ReliabilityThreshold > 0 ? Math.Min(1, -Math.Log10(1 - Math.Min(s.ReliabilityThreshold, 0.99999)) / 4) : 0;
            var pinned = s.Pinning.IsPinned ? 1 : 0;
            var size = Math.Max(
                Math.Max(Ratio(s.CpuCores, target.CpuCores), Ratio(s.MemoryGb, target.MemoryGb)),
                Math.Max(Ratio(s.StorageGb, target.StorageGb), Ratio(s.Gpus, target.Gpus)));
            var score = LatencyWeight * latency + CriticalPathWeight * path + ReliabilityWeight * reliability + PinnedWeight * pinned + SizeWeight * size;
            var notes = new List<string>();
            if (double.IsFinite(tightestMs))
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"tightest threshold {tightestMs:0.##} ms"));
            }

            if (path >= 0.999 && overall > 0)
            {
                notes.Add("on the critical path");
            }

            if (s.ReliabilityThreshold > 0)
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"reliability ≥ {s.ReliabilityThreshold:0.#####}"));
            }

            if (pinned == 1)
            {
                notes.Add(s.Pinning.ToString());
            }

            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{size:P0} of a {target.Name} node"));
            scored[i] = (s, score, string.Join(", ", notes));
        }

        var rankOf = scored.Select((x, i) => (x.Score, x.Subtask.Id, i))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal)
            .Select((x, rank) => (x.i, rank)).ToDictionary(x => x.i, x => x.rank + 1);
        return scored.Select((x, i) =>
        {
            var grade = x.Score >= HardScore ? 1 : x.Score >= MediumScore ? 2 : 3;
            var reason = string.Create(CultureInfo.InvariantCulture, $"grade {grade}, rank {rankOf[i]} (criticality {x.Score:0.00}): {x.Why}");
            return x.Subtask with { Grade = grade, Rank = rankOf[i], CriticalityScore = Math.Round(x.Score, 4), Reasons = [.. x.Subtask.Reasons, reason] };
        }).ToList();
    }

    private static double Ratio(double need, double capacity) => capacity > 0 ? Math.Min(1, need / capacity) : 0;
}
