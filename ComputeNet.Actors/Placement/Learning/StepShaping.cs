namespace ComputeNet.Actors.Placement.Learning;

/// <summary>
/// Reward shaping toward acceptance under rising load, charged on top of the objective's delta for each
/// step in training (the environment's reward and the imitation target; serving uses the network alone).
/// Two terms, both things the objective (balance + energy) ignores and later apps pay for:
/// taking the last <see cref="ReserveShare"/> of a node's CPU or memory (any node may be a later user's
/// access node, whose pinned client then finds no room; only the part of the reserve this step takes is
/// charged), and the latency to the subtask's placed neighbours and user (far placements load more links,
/// and later apps are rejected on transfer delay and bandwidth).
/// </summary>
/// <param name="ReserveWeight">Cost of taking a whole reserve of one dimension, in objective units (deltas are ~0.01–0.1).</param>
/// <param name="ReserveShare">Share of a node's capacity kept back as the reserve.</param>
/// <param name="LatencyWeight">Cost per 20 ms of path latency to the placed neighbours and the user.</param>
public sealed record StepShaping(double ReserveWeight = 0.05, double ReserveShare = 0.25, double LatencyWeight = 0.02)
{
    /// <summary>
    /// The weights chosen on held-out training-side networks (Arn, BeyondTheNetwork, Chinanet at 300 nodes): as a
    /// greedy rule they raised rising-load acceptance by 0.02–0.06 over greedy-objective for 3–5 % objective.
    /// </summary>
    public static readonly StepShaping Default = new();

    public static readonly StepShaping None = new(0, 0.25, 0);

    /// <summary>The shaping cost of subtask k joining node v in the partial plan.</summary>
    public double Cost(GreedyContext context, int k, int v)
    {
        var cost = LatencyWeight > 0 ? LatencyWeight * context.NeighbourLatencyMs(k, v) / 20 : 0;
        if (ReserveWeight <= 0 || ReserveShare <= 0) return cost;
        var problem = context.Problem;
        var capacity = problem.NodeArray[v].Capacity;
        var free = problem.Free[v];
        var added = context.Plan.AddedLoad(v);
        var demand = problem.SubtaskArray[k].Demand;
        return cost + ReserveWeight * (ReserveTaken(capacity.CpuCores, free.CpuCores - added.CpuCores, demand.CpuCores)
                                     + ReserveTaken(capacity.MemoryGb, free.MemoryGb - added.MemoryGb, demand.MemoryGb));
    }

    // The share of the reserve the demand takes out of what is left.
    private double ReserveTaken(double capacity, double left, double demand)
    {
        if (capacity <= 0 || demand <= 0) return 0;
        var reserve = ReserveShare * capacity;
        var before = Math.Clamp(reserve - left, 0, reserve);
        var after = Math.Clamp(reserve - (left - demand), 0, reserve);
        return (after - before) / reserve;
    }
}
