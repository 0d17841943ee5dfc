namespace ComputeNet.Actors.Model.Apps;

/// <summary>
/// The few numbers a templated app needs. Every field is optional; absent ones take the defaults in
/// <see cref="AppTemplates"/>. Which fields a kind reads is listed there.
/// </summary>
public sealed record AppTemplateParameters
{
    public string? Image { get; init; }

    public double? CpuCores { get; init; }

    public double? MemoryGb { get; init; }

    public double? StorageGb { get; init; }

    /// <summary>Main data rate: the call's media rate, the compute input rate, the content stream rate.</summary>
    public double? DataRateMbps { get; init; }

    /// <summary>Rate of results (compute) or of index answers (content).</summary>
    public double? ResultRateMbps { get; init; }

    /// <summary>End-to-end transfer delay each dependency must stay under.</summary>
    public double? LatencyMs { get; init; }

    public double? WorkMiPerRequest { get; init; }

    public double? RequestsPerSecond { get; init; }

    public double? ExecutionTimeThresholdMs { get; init; }

    public double? ReliabilityThreshold { get; init; }

    /// <summary>Complex (AR game) template only: players, each with a renderer and a pose tracker near them.</summary>
    public int? Players { get; init; }
}

/// <summary>
/// Expands the seed's four kinds from a handful of parameters into component graphs, so a
/// communication or content app is a few lines of JSON. Expansion is pure and deterministic.
/// </summary>
public static class AppTemplates
{
    /// <summary>
    /// Returns the spec with the template's components and dependencies appended after the explicit ones
    /// (so the explicit ones keep their JSON paths); specs without a template come back unchanged.
    /// </summary>
    public static AppSpec Expand(AppSpec spec)
    {
        if (spec.Template is null)
        {
            return spec;
        }

        var (components, dependencies) = spec.Kind switch
        {
            AppKind.Communication => Communication(spec.Template),
            AppKind.Compute => Compute(spec.Template),
            AppKind.Content => Content(spec.Template),
            _ => ArGame(spec.Template),
        };

        return spec with
        {
            Template = null,
            Components = [.. spec.Components, .. components],
            Dependencies = [.. spec.Dependencies, .. dependencies],
        };
    }

    // communication: one relay next to the user, fixed resources; the call's media flows through it.
    private static (List<ComponentSpec>, List<DependencySpec>) Communication(AppTemplateParameters p) =>
        ([
            new ComponentSpec
            {
                Id = "relay",
                Image = p.Image ?? "computenet/media-relay:1",
                CpuCores = p.CpuCores ?? 1,
                MemoryGb = p.MemoryGb ?? 1,
                StorageGb = p.StorageGb ?? 1,
                WorkMiPerRequest = p.WorkMiPerRequest ?? 2,
                RequestsPerSecond = p.RequestsPerSecond ?? 50,
                ExecutionTimeThresholdMs = p.ExecutionTimeThresholdMs ?? p.LatencyMs ?? 20,
                ReliabilityThreshold = p.ReliabilityThreshold ?? 0.99,
                Pinning = Pinning.ToAccessNode(),
                Sticky = true,
            },
        ], []);

    // compute: source → compute → destination, and the destination's acknowledgements back to the source (the loop).
    private static (List<ComponentSpec>, List<DependencySpec>) Compute(AppTemplateParameters p)
    {
        var latency = p.LatencyMs ?? 50;
        return (
        [
            new ComponentSpec { Id = "source", Image = "computenet/data-source:1", CpuCores = 0.5, MemoryGb = 0.5, StorageGb = 1, WorkMiPerRequest = 1, RequestsPerSecond = p.RequestsPerSecond ?? 10, Pinning = Pinning.ToAccessNode() },
            new ComponentSpec
            {
                Id = "compute",
                Image = p.Image ?? "computenet/compute-worker:1",
                CpuCores = p.CpuCores ?? 8,
                MemoryGb = p.MemoryGb ?? 16,
                StorageGb = p.StorageGb ?? 20,
                WorkMiPerRequest = p.WorkMiPerRequest ?? 20_000,
                RequestsPerSecond = p.RequestsPerSecond ?? 10,
                ExecutionTimeThresholdMs = p.ExecutionTimeThresholdMs ?? 10_000,
                ReliabilityThreshold = p.ReliabilityThreshold ?? 0.99,
            },
            new ComponentSpec { Id = "destination", Image = "computenet/result-sink:1", CpuCores = 0.5, MemoryGb = 0.5, StorageGb = 5, WorkMiPerRequest = 1, RequestsPerSecond = p.RequestsPerSecond ?? 10 },
        ],
        [
            new DependencySpec { From = "source", To = "compute", DataRateMbps = p.DataRateMbps ?? 100, TransferDelayThresholdMs = latency },
            new DependencySpec { From = "compute", To = "destination", DataRateMbps = p.ResultRateMbps ?? 5, TransferDelayThresholdMs = latency },
            new DependencySpec { From = "destination", To = "source", DataRateMbps = 0.1, TransferDelayThresholdMs = latency * 4 },
        ]);
    }

    // content: terminal's request → index service → content source → terminal; acyclic by reading the
    // terminal's request and the playback sink as two components (as a CDN sees them).
    private static (List<ComponentSpec>, List<DependencySpec>) Content(AppTemplateParameters p)
    {
        var latency = p.LatencyMs ?? 30;
        var rps = p.RequestsPerSecond ?? 100;
        return (
        [
            new ComponentSpec { Id = "request", Image = "computenet/request-gateway:1", CpuCores = 0.5, MemoryGb = 0.5, StorageGb = 0.5, WorkMiPerRequest = 0.5, RequestsPerSecond = rps, ExecutionTimeThresholdMs = 5, Pinning = Pinning.ToAccessNode() },
            new ComponentSpec { Id = "index", Image = "computenet/content-index:1", CpuCores = 2, MemoryGb = 8, StorageGb = 20, WorkMiPerRequest = 5, RequestsPerSecond = rps, ExecutionTimeThresholdMs = 10, ReliabilityThreshold = p.ReliabilityThreshold ?? 0.99 },
            new ComponentSpec
            {
                Id = "content-source",
                Image = p.Image ?? "computenet/content-source:1",
                CpuCores = p.CpuCores ?? 4,
                MemoryGb = p.MemoryGb ?? 16,
                StorageGb = p.StorageGb ?? 500,
                WorkMiPerRequest = p.WorkMiPerRequest ?? 20,
                RequestsPerSecond = rps,
                ExecutionTimeThresholdMs = p.ExecutionTimeThresholdMs ?? 50,
                ReliabilityThreshold = p.ReliabilityThreshold ?? 0.99,
            },
            new ComponentSpec { Id = "terminal", Image = "computenet/player:1", CpuCores = 1, MemoryGb = 1, StorageGb = 2, WorkMiPerRequest = 2, RequestsPerSecond = rps, Pinning = Pinning.ToAccessNode(), Sticky = true },
        ],
        [
            new DependencySpec { From = "request", To = "index", DataRateMbps = 0.5, TransferDelayThresholdMs = latency },
            new DependencySpec { From = "index", To = "content-source", DataRateMbps = p.ResultRateMbps ?? 0.5, TransferDelayThresholdMs = latency },
            new DependencySpec { From = "content-source", To = "terminal", DataRateMbps = p.DataRateMbps ?? 25, TransferDelayThresholdMs = latency * 2, BandwidthFloorMbps = (p.DataRateMbps ?? 25) * 0.8 },
        ]);
    }

    // complex: the multiplayer AR game. Each player has a renderer and pose tracker at their access node;
    // game state, matchmaking and assets are shared.
    private static (List<ComponentSpec>, List<DependencySpec>) ArGame(AppTemplateParameters p)
    {
        var players = p.Players ?? 2;
        var latency = p.LatencyMs ?? 10;
        var components = new List<ComponentSpec>
        {
            new() { Id = "game-state", Image = "computenet/ar-game-state:1", CpuCores = 4, MemoryGb = 8, StorageGb = 10, WorkMiPerRequest = 20, RequestsPerSecond = 60 * players, ExecutionTimeThresholdMs = 8, ReliabilityThreshold = 0.999, Sticky = true },
            new() { Id = "matchmaker", Image = "computenet/ar-matchmaker:1", CpuCores = 1, MemoryGb = 2, StorageGb = 2, WorkMiPerRequest = 50, RequestsPerSecond = 1, ExecutionTimeThresholdMs = 500, ReliabilityThreshold = 0.99, Pinning = Pinning.ToTier(NodeTier.Cloud) },
            new() { Id = "asset-store", Image = "computenet/ar-assets:1", CpuCores = 2, MemoryGb = 8, StorageGb = 200, WorkMiPerRequest = 10, RequestsPerSecond = 20, ExecutionTimeThresholdMs = 100, ReliabilityThreshold = 0.999 },
        };
        var dependencies = new List<DependencySpec>();
        for (var i = 1; i <= players; i++)
        {
            components.Add(new ComponentSpec { Id = $"pose-tracker-{i}", Image = "computenet/ar-pose:1", CpuCores = p.CpuCores ?? 2, MemoryGb = 2, StorageGb = 1, WorkMiPerRequest = 30, RequestsPerSecond = 60, ExecutionTimeThresholdMs = 12, ReliabilityThreshold = 0.99, Pinning = Pinning.ToAccessNode($"player-{i}"), ColocationGroup = $"player-{i}" });
            components.Add(new ComponentSpec { Id = $"renderer-{i}", Image = p.Image ?? "computenet/ar-renderer:1", CpuCores = 2, MemoryGb = p.MemoryGb ?? 6, StorageGb = 4, Gpus = 1, WorkMiPerRequest = 40, RequestsPerSecond = 60, ExecutionTimeThresholdMs = 14, ReliabilityThreshold = 0.99, Pinning = Pinning.ToAccessNode($"player-{i}"), ColocationGroup = $"player-{i}", AntiAffinityGroup = "renderers", Sticky = true });
            dependencies.Add(new DependencySpec { From = $"pose-tracker-{i}", To = $"renderer-{i}", DataRateMbps = 40, TransferDelayThresholdMs = 2 });
            dependencies.Add(new DependencySpec { From = $"pose-tracker-{i}", To = "game-state", DataRateMbps = 2, TransferDelayThresholdMs = latency });
            dependencies.Add(new DependencySpec { From = "game-state", To = $"renderer-{i}", DataRateMbps = 4, TransferDelayThresholdMs = latency });
            dependencies.Add(new DependencySpec { From = "asset-store", To = $"renderer-{i}", DataRateMbps = p.DataRateMbps ?? 50, TransferDelayThresholdMs = 200 });
            dependencies.Add(new DependencySpec { From = "matchmaker", To = $"renderer-{i}", DataRateMbps = 0.05, TransferDelayThresholdMs = 500 });
        }

        dependencies.Add(new DependencySpec { From = "matchmaker", To = "game-state", DataRateMbps = 0.1, TransferDelayThresholdMs = 500 });
        return (components, dependencies);
    }
}
