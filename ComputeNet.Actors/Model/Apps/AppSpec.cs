using System.Text.Json.Serialization;

namespace ComputeNet.Actors.Model.Apps;

/// <summary>The seed's four application kinds; each decides which dependency shapes are legal.</summary>
public enum AppKind
{
    /// <summary>One subtask with fixed resources (a relay, a call bridge). No cycles.</summary>
    Communication,

    /// <summary>A data source pushes data to compute that returns results to a destination: a loop is the normal shape.</summary>
    Compute,

    /// <summary>request → index → content source → terminal. Acyclic.</summary>
    Content,

    /// <summary>Any dependency graph (e.g. a multiplayer AR game). Cycles allowed: interactive apps have request/response loops.</summary>
    Complex,
}

/// <summary>Where a component must run. Two components pinned to different places never share a subtask.</summary>
public enum PinningKind
{
    None,

    /// <summary>On (or next to) the node the user attaches to; follows the user under mobility.</summary>
    AccessNode,

    Region,
    Tier,

    /// <summary>A named node (a camera's own gateway, a licensed server).</summary>
    Node,
}

/// <summary>A placement restriction. <see cref="Target"/> is a region name, a tier name or a node id; empty for none / access node.</summary>
public sealed record Pinning
{
    public static readonly Pinning None = new();

    public PinningKind Kind { get; init; } = PinningKind.None;

    public string? Target { get; init; }

    /// <summary>The user's access node; <paramref name="user"/> tells several users' access nodes apart (multiplayer).</summary>
    public static Pinning ToAccessNode(string? user = null) => new() { Kind = PinningKind.AccessNode, Target = user };

    public static Pinning ToRegion(string region) => new() { Kind = PinningKind.Region, Target = region };

    public static Pinning ToTier(NodeTier tier) => new() { Kind = PinningKind.Tier, Target = tier.ToString().ToLowerInvariant() };

    public static Pinning ToNode(string nodeId) => new() { Kind = PinningKind.Node, Target = nodeId };

    [JsonIgnore]
    public bool IsPinned => Kind != PinningKind.None;

    /// <summary>
    /// Conservative on purpose: only identical places (or an unpinned side) may share a subtask,
    /// because decomposition does not know whether e.g. a region contains the user's access node.
    /// </summary>
    public bool IsCompatibleWith(Pinning other) =>
        !IsPinned || !other.IsPinned || (Kind == other.Kind && string.Equals(Target, other.Target, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => Kind switch
    {
        PinningKind.None => "unpinned",
        PinningKind.AccessNode => Target is null ? "pinned to the user's access node" : $"pinned to {Target}'s access node",
        _ => $"pinned to {Kind.ToString().ToLowerInvariant()} {Target}",
    };
}

/// <summary>One deployable part of an application (a container).</summary>
public sealed record ComponentSpec
{
    public string Id { get; init; } = "";

    public string Image { get; init; } = "";

    public double CpuCores { get; init; }

    public double MemoryGb { get; init; }

    public double StorageGb { get; init; }

    public int Gpus { get; init; }

    /// <summary>Million instructions one request costs; with a node's MIPS per core this gives execution time.</summary>
    public double WorkMiPerRequest { get; init; }

    public double RequestsPerSecond { get; init; }

    /// <summary>Per-request execution time the component must stay under; null = no bound.</summary>
    public double? ExecutionTimeThresholdMs { get; init; }

    /// <summary>Lowest node reliability (0..1) the component accepts; 0 = any.</summary>
    public double ReliabilityThreshold { get; init; }

    public Pinning? Pinning { get; init; }

    /// <summary>Components sharing this group must run on different nodes (replicas).</summary>
    public string? AntiAffinityGroup { get; init; }

    /// <summary>Components sharing this group must run on one node (the seed's "several components on one node").</summary>
    public string? ColocationGroup { get; init; }

    /// <summary>Flow stickiness / service continuity: moving it breaks sessions, so rescheduling should avoid it.</summary>
    public bool Sticky { get; init; }

    /// <summary>Sustained work in million instructions per second.</summary>
    [JsonIgnore]
    public double WorkMips => WorkMiPerRequest * RequestsPerSecond;

    [JsonIgnore]
    public Pinning EffectivePinning => Pinning ?? Apps.Pinning.None;

    /// <summary>Per-request execution time on one core of the given speed.</summary>
    public double ExecutionTimeMs(double speedMipsPerCore) =>
        speedMipsPerCore <= 0 ? double.PositiveInfinity : WorkMiPerRequest / speedMipsPerCore * 1000.0;
}

/// <summary>Data flowing from one component to another. Give either a rate or bytes per request (of <see cref="From"/>).</summary>
public sealed record DependencySpec
{
    public string From { get; init; } = "";

    public string To { get; init; } = "";

    public double? DataRateMbps { get; init; }

    public double? BytesPerRequest { get; init; }

    public double? TransferDelayThresholdMs { get; init; }

    public double? BandwidthFloorMbps { get; init; }

    /// <summary>The rate in Mbps; bytes per request are multiplied by the sender's request rate.</summary>
    public double EffectiveDataRateMbps(ComponentSpec? sender) =>
        DataRateMbps ?? (BytesPerRequest ?? 0) * 8.0 * (sender?.RequestsPerSecond ?? 0) / 1_000_000.0;
}

/// <summary>From <see cref="FromSecond"/> on, the user attaches to <see cref="AccessNode"/>.</summary>
public sealed record MobilityStep
{
    public string AccessNode { get; init; } = "";

    public double FromSecond { get; init; }
}

/// <summary>
/// An application as the user states it: a component graph, or a template of one of the seed's kinds
/// that <see cref="AppTemplates.Expand"/> turns into a graph.
/// </summary>
public sealed record AppSpec
{
    public string Name { get; init; } = "";

    public AppKind Kind { get; init; } = AppKind.Complex;

    public AppTemplateParameters? Template { get; init; }

    public IReadOnlyList<ComponentSpec> Components { get; init; } = [];

    public IReadOnlyList<DependencySpec> Dependencies { get; init; } = [];

    /// <summary>Node ids of the access points the user may attach to.</summary>
    public IReadOnlyList<string> AccessPoints { get; init; } = [];

    /// <summary>Expected movement of the user over time, in ascending <see cref="MobilityStep.FromSecond"/>.</summary>
    public IReadOnlyList<MobilityStep> Mobility { get; init; } = [];

    public ComponentSpec? FindComponent(string id) => Components.FirstOrDefault(c => c.Id == id);
}
