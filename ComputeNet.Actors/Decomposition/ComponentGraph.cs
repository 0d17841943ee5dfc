using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>A component as decomposition sees it: what it needs and where it may go.</summary>
public sealed record ComponentNode
{
    public string Id { get; init; } = "";

    public double CpuCores { get; init; }

    public double MemoryGb { get; init; }

    public double StorageGb { get; init; }

    public int Gpus { get; init; }

    /// <summary>Sustained work, million instructions per second.</summary>
    public double WorkMips { get; init; }

    public double WorkMiPerRequest { get; init; }

    public double? ExecutionTimeThresholdMs { get; init; }

    public double ReliabilityThreshold { get; init; }

    public Pinning Pinning { get; init; } = Pinning.None;

    public string? AntiAffinityGroup { get; init; }

    public string? ColocationGroup { get; init; }

    public bool Sticky { get; init; }
}

/// <summary>Directed traffic between two components.</summary>
public sealed record ComponentEdge
{
    public string From { get; init; } = "";

    public string To { get; init; } = "";

    public double DataRateMbps { get; init; }

    public double? TransferDelayThresholdMs { get; init; }

    public double? BandwidthFloorMbps { get; init; }
}

/// <summary>The plain graph decomposition works on; build it from a spec or from a benchmark loader.</summary>
public sealed record ComponentGraph(string Name, IReadOnlyList<ComponentNode> Components, IReadOnlyList<ComponentEdge> Edges)
{
    /// <summary>
    /// The user is expected to move between access nodes (the spec's mobility lists two or more). Then sticky,
    /// unpinned components are kept out of subtasks pinned to the access node: those follow the user, and a
    /// sticky component must not be dragged along (移动场景感知: mobile-scenario aware decomposition).
    /// </summary>
    public bool UserMoves { get; init; }

    /// <summary>Expands the template (if any) and converts components and dependencies; bytes per request become Mbps.</summary>
    public static ComponentGraph FromSpec(AppSpec spec)
    {
        var expanded = AppTemplates.Expand(spec);
        var byId = expanded.Components.GroupBy(c => c.Id).ToDictionary(g => g.Key, g => g.First());
        var components = expanded.Components.Select(c => new ComponentNode
        {
            Id = c.Id,
            CpuCores = c.CpuCores,
            MemoryGb = c.MemoryGb,
            StorageGb = c.StorageGb,
            Gpus = c.Gpus,
            WorkMips = c.WorkMips,
            WorkMiPerRequest = c.WorkMiPerRequest,
            ExecutionTimeThresholdMs = c.ExecutionTimeThresholdMs,
            ReliabilityThreshold = c.ReliabilityThreshold,
            Pinning = c.EffectivePinning,
            AntiAffinityGroup = c.AntiAffinityGroup,
            ColocationGroup = c.ColocationGroup,
            Sticky = c.Sticky,
        }).ToList();
        var edges = expanded.Dependencies.Select(d => new ComponentEdge
        {
            From = d.From,
            To = d.To,
            DataRateMbps = d.EffectiveDataRateMbps(byId.GetValueOrDefault(d.From)),
            TransferDelayThresholdMs = d.TransferDelayThresholdMs,
            BandwidthFloorMbps = d.BandwidthFloorMbps,
        }).ToList();
        return new ComponentGraph(expanded.Name, components, edges)
        {
            UserMoves = expanded.Mobility.Select(m => m.AccessNode).Distinct().Count() > 1,
        };
    }

    public double TotalTrafficMbps => Edges.Where(e => e.From != e.To).Sum(e => e.DataRateMbps);
}
