namespace ComputeNet.Actors.Placement;

/// <summary>
/// Price of disturbing a running deployment (运行调整), in the objective's units: a fixed cost per
/// moved subtask, its state to copy, and its image to pull where the target node has no copy.
/// </summary>
public sealed record MigrationCostWeights(double PerMove = 0.05, double PerStateGb = 0.02, double PerImagePullGb = 0.01)
{
    public static readonly MigrationCostWeights Default = new();

    public double Cost(PlacementProblem problem, int subtask, int fromNode, int toNode)
    {
        if (fromNode == toNode) return 0;
        if (fromNode < 0) return PerMove;
        var s = problem.Subtasks[subtask];
        var cached = s.ImageId is not null && problem.Nodes[toNode].CachedImages.Contains(s.ImageId);
        return PerMove + PerStateGb * s.StateSizeGb + (cached ? 0 : PerImagePullGb * s.ImageSizeGb);
    }
}

/// <summary>
/// One subtask to move, in make-before-break order: reserve and deploy on <see cref="ToNode"/>,
/// switch traffic, then stop on <see cref="FromNode"/>. <see cref="BreakBeforeMake"/> is set when the
/// target has no room while the old instance still runs (the moves form a cycle) or the old node is
/// gone: then the old instance must stop first.
/// </summary>
public sealed record SubtaskMove(int Subtask, string SubtaskId, int FromNode, int ToNode, double Cost)
{
    public string? FromNodeId { get; init; }

    public string? ToNodeId { get; init; }

    public bool BreakBeforeMake { get; init; }
}

/// <summary>
/// What a re-placement may do beyond repairing violations.
/// </summary>
/// <param name="Reconsider">Subtasks that may move although they break nothing (on a node whose objective degraded, or forecast to break); each moves only where the objective gain pays for its migration.</param>
/// <param name="ForbiddenNodes">Per subtask, nodes it must not move to (the stability policy's ping-pong guard); staying where it is remains allowed.</param>
/// <param name="MustMove">Subtasks that must leave their node (forecast to break there), as if violated now.</param>
public sealed record ReplacementRequest(
    IReadOnlySet<int>? Reconsider = null,
    IReadOnlyDictionary<int, IReadOnlySet<int>>? ForbiddenNodes = null,
    IReadOnlySet<int>? MustMove = null)
{
    public static readonly ReplacementRequest None = new();
}

/// <summary>
/// Outcome of a re-placement. <see cref="Result"/> is the new plan (or a rejection naming what cannot
/// be met); on rejection <see cref="BestPartial"/> keeps every subtask that can stay where it is and
/// places the others where they still fit alone (−1 for those that cannot), so the service degrades
/// explicitly instead of disappearing.
/// </summary>
public sealed record ReplacementResult(
    string PolicyName,
    PlacementResult Result,
    IReadOnlyList<Violation> ViolationsBefore,
    IReadOnlyList<SubtaskMove> Moves,
    double MigrationCost,
    IReadOnlyList<int>? BestPartial)
{
    /// <summary>Objective plus migration cost: what the re-placement minimises.</summary>
    public double TotalCost => Result is PlacementPlan plan ? plan.Objective.Total + MigrationCost : double.PositiveInfinity;

    /// <summary>Null when repaired; otherwise which constraint could not be met, for which subtask, and why.</summary>
    public PlacementRejection? Degradation => Result as PlacementRejection;
}

/// <summary>
/// Re-places an app whose conditions changed. The problem carries the new conditions; node usage in
/// it must not include this app's own current placement (that is <c>current</c>).
/// </summary>
public interface IReplacementPolicy
{
    string Name { get; }

    ReplacementResult Replace(PlacementProblem problem, IReadOnlyList<int> current, ReplacementRequest? request = null);
}

/// <summary>
/// Orders a plan's moves for make-before-break execution: a move goes when its target has room for
/// the new instance while every old instance not yet moved still runs (capacity only; links carry
/// both instances' traffic for the switch-over and are not modelled). When no move fits (a cycle),
/// the first remaining one is marked <see cref="SubtaskMove.BreakBeforeMake"/>.
/// </summary>
public static class MakeBeforeBreak
{
    public static IReadOnlyList<SubtaskMove> Order(PlacementProblem problem, IReadOnlyList<int> current, IReadOnlyList<SubtaskMove> moves)
    {
        var load = new Dictionary<int, Resources>();
        for (var k = 0; k < current.Count; k++)
            if (current[k] >= 0) load[current[k]] = load.GetValueOrDefault(current[k]) + problem.Subtasks[k].Demand;
        var remaining = moves.ToList();
        var ordered = new List<SubtaskMove>(moves.Count);
        while (remaining.Count > 0)
        {
            var next = remaining.FindIndex(m => (load.GetValueOrDefault(m.ToNode) + problem.Subtasks[m.Subtask].Demand).FitsIn(problem.Free[m.ToNode]));
            var breakFirst = next < 0;
            var move = remaining[breakFirst ? 0 : next];
            remaining.Remove(move);
            var demand = problem.Subtasks[move.Subtask].Demand;
            load[move.ToNode] = load.GetValueOrDefault(move.ToNode) + demand;
            if (move.FromNode >= 0) load[move.FromNode] = load.GetValueOrDefault(move.FromNode) - demand;
            var sourceGone = move.FromNode < 0 || problem.Nodes[move.FromNode].Capacity.CpuCores <= 0;
            ordered.Add(move with { BreakBeforeMake = breakFirst || sourceGone });
        }
        return ordered;
    }
}
