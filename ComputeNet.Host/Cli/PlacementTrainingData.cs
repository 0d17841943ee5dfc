using ComputeNet.Actors.Placement.Generation;

namespace ComputeNet.Host.Cli;

/// <summary>
/// Which Topology Zoo networks the learned policy trains on and which it never sees: Geant2012 (the
/// placement benchmark's network) and every fifth other network by a stable name hash are held out,
/// as are the iFogSim apps (training uses random DAG apps only). Shared by train and bench drl.
/// </summary>
internal static class PlacementTrainingData
{
    // Topology sizes kept for training and evaluation: big enough to offer choices, small enough for a 2-core machine.
    private const int MinNodes = 15;
    private const int MaxNodes = 80;

    public const string BenchmarkTopology = "Geant2012";

    public static (IReadOnlyList<ZooTopology> Training, IReadOnlyList<ZooTopology> HeldOut) Topologies(CliArgs args)
    {
        var zoo = BenchCommands.SharedDataDirectory(args) is { } shared ? Path.Combine(shared, "topology", "zoo") : null;
        if (zoo is null || !Directory.Exists(zoo))
            throw new CliException("training needs the Topology Zoo networks under shared/data/topology/zoo (or --shared-data DIR)");
        var all = Directory.GetFiles(zoo, "*.graphml").Order(StringComparer.Ordinal)
            .Select(PlacementDataLoader.LoadZooTopology)
            .Where(t => t.Name == BenchmarkTopology || t.Nodes.Count is >= MinNodes and <= MaxNodes)
            .ToArray();
        return (all.Where(t => !IsHeldOut(t.Name)).ToArray(), all.Where(t => IsHeldOut(t.Name)).ToArray());
    }

    public static bool IsHeldOut(string topologyName) => topologyName == BenchmarkTopology || StableHash(topologyName) % 5 == 0;

    public static IReadOnlyList<AppSpec> HeldOutApps() =>
        PlacementDataLoader.LoadIFogSimApps(Path.Combine(AppContext.BaseDirectory, "samples", "graphs", "ifogsim_apps.json"));

    // string.GetHashCode is randomised per process; the split must be the same in every run.
    private static uint StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return hash;
    }
}
