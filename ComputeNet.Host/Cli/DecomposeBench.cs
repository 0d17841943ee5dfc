using ComputeNet.Actors.Decomposition;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet bench decompose: our graph clustering against greedy edge contraction (same caps and
/// constraints) on real application graphs, against the CP-SAT optimum on graphs of ≤ 20 components,
/// and the time for a 1,000-component graph.
/// </summary>
public static class DecomposeBench
{
    /// <summary>Each subtask may take this share of the app's total demand, so every method must cut the graph.</summary>
    private const double CapShare = 0.3;

    public static Task<object> RunAsync(CliArgs args)
    {
        var graphs = new List<ComponentGraph>();
        var samples = Path.Combine(AppContext.BaseDirectory, "samples", "graphs");
        graphs.AddRange(AppGraphLoaders.IFogSimApps(Path.Combine(samples, "ifogsim_apps.json")));
        graphs.AddRange(AppGraphLoaders.DeathStarBench(Path.Combine(samples, "deathstarbench_service_graphs.json")));
        var sources = new List<string> { "iFogSim apps", "DeathStarBench" };

        if (BenchCommands.SharedDataDirectory(args) is { } shared)
        {
            var apps = Path.Combine(shared, "apps");
            var alibaba = Path.Combine(apps, "alibaba_callgraphs_dgg_sample.json");
            if (File.Exists(alibaba))
            {
                graphs.AddRange(AppGraphLoaders.AlibabaCallGraphs(alibaba));
                sources.Add("Alibaba call graphs");
            }
            var workflows = Path.Combine(apps, "workflows");
            if (Directory.Exists(workflows))
            {
                graphs.AddRange(Directory.GetFiles(workflows, "*.json").Order().Select(AppGraphLoaders.PegasusWorkflow));
                sources.Add("Pegasus workflows");
            }
        }
        Console.Error.WriteLine($"decomposing {graphs.Count} graphs from {string.Join(", ", sources)} (caps = {CapShare:P0} of each app's demand)");

        var result = DecompositionBenchmark.Run([.. graphs.Where(g => g.Edges.Count > 0).Select(g => DecompositionBenchmark.WithCapShare(g, CapShare))]);
        return Task.FromResult<object>(args.Flag("per-graph") ? result : result with { Graphs = [] });
    }
}
