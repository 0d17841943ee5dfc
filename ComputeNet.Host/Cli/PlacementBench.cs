using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Benchmark;
using ComputeNet.Actors.Placement.Generation;
using ComputeNet.Actors.Placement.Learning;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Host.Hosting;
using Akka.Actor;
using Akka.Hosting;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet bench place | reschedule: the placement policies (and minimal-disruption re-placement) on
/// instances generated from a real Topology Zoo network with the documented generator and a fixed seed.
/// </summary>
public static class PlacementBench
{
    public static async Task<object> PlaceAsync(CliArgs args)
    {
        var topology = PlacementDataLoader.LoadZooTopology(TopologyFile(args));
        var apps = PlacementDataLoader.LoadIFogSimApps(Path.Combine(AppContext.BaseDirectory, "samples", "graphs", "ifogsim_apps.json"));
        var options = new BenchmarkOptions(Seed: args.IntOption("seed", 2026), ScaleNodeCount: args.IntOption("scale-nodes", 10_000));
        Console.Error.WriteLine($"placing on {topology.Name} (+ generated edge/device nodes), seed {options.Seed}");
        var report = args.Flag("throughput-only") ? null : PlacementBenchmark.Run(topology, options, apps);

        var fleet = InstanceGenerator.BuildFleet(topology, new GeneratorOptions(Seed: options.Seed,
            TargetNodeCount: Math.Max(args.IntOption("throughput-nodes", options.LoadNodeCount), topology.Nodes.Count)));
        var placements = args.IntOption("placements", 2000);
        var persistence = args.Option("persistence") ?? "memory";
        Console.Error.WriteLine($"throughput: {placements} placements through the actors on {fleet.Nodes.Count} half-loaded nodes ({persistence} journal)");
        var throughput = await Throughput(fleet, placements, args.IntOption("concurrency", 16), report?.BestHeuristic ?? "greedy-objective", persistence);
        return report is null ? throughput : report with { PlacementsPerSecond = throughput.PlacementsPerSecond, Throughput = throughput };
    }

    /// <summary>The actors on the host's own serializer and either an in-memory journal or SQLite in a scratch directory.</summary>
    private static async Task<ThroughputFigures> Throughput(Fleet fleet, int placements, int concurrency, string policy, string persistence)
    {
        var data = Path.Combine(Path.GetTempPath(), $"computenet-bench-place-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("bench-place", (akka, _) =>
            {
                akka.WithComputeNetSerialization();
                if (persistence == "sqlite") akka.WithComputeNetPersistence(PersistenceSetup.Resolve(new PersistenceOptions(), data));
                else akka.AddHocon("""
                    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                    """, HoconAddMode.Prepend);
            }))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            return await SchedulingThroughputBenchmark.RunAsync(system, fleet, placements, concurrency, policy) with { Persistence = persistence };
        }
        finally
        {
            await host.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, true); } catch (IOException) { }
        }
    }

    public static Task<object> RescheduleAsync(CliArgs args)
    {
        var topology = PlacementDataLoader.LoadZooTopology(TopologyFile(args));
        var options = new ReplacementBenchmarkOptions(
            Seed: args.IntOption("seed", 2026),
            NodeCount: args.IntOption("nodes", 10_000),
            Apps: args.IntOption("apps", 1_000),
            Scenarios: args.IntOption("events", 100),
            CpSatReferenceApps: args.IntOption("cp-sat-apps", 10));
        Console.Error.WriteLine($"re-placing after drift on {topology.Name} grown to {options.NodeCount} nodes, {options.Apps} apps, {options.Scenarios} events");
        return Task.FromResult<object>(ReplacementBenchmark.Run(topology, options, message => Console.Error.WriteLine(message)));
    }

    /// <summary>
    /// bench drl [--model FILE] [--topology FILE.graphml]: the learned policy on Geant2012 (held out from
    /// training; the shipped sample network without shared data), with --topology also on that unseen network.
    /// </summary>
    public static Task<object> DrlAsync(CliArgs args)
    {
        var drl = DrlPlacementPolicy.Load(args.Option("model"));
        Console.Error.WriteLine($"placement policy {DrlPlacementPolicy.PolicyName}: {drl.Description}");
        var topology = PlacementDataLoader.LoadZooTopology(DefaultTopologyFile(args));
        var options = new BenchmarkOptions(Seed: args.IntOption("seed", 2026), ScaleNodeCount: args.IntOption("scale-nodes", 10_000), ScaleDecisions: args.IntOption("decisions", 40));
        if (args.Flag("latency-only")) return Task.FromResult<object>(DrlBenchmark.Latency(drl, topology, options));
        ZooTopology? unseen = null;
        if (args.Option("topology") is { } file)
        {
            unseen = PlacementDataLoader.LoadZooTopology(File.Exists(file) ? file : throw new CliException($"no such topology file: {file}"));
            if (!PlacementTrainingData.IsHeldOut(unseen.Name))
                Console.Error.WriteLine($"warning: {unseen.Name} is among the training networks; unseen_topology_gap is not unseen");
        }
        var apps = PlacementTrainingData.HeldOutApps();
        return Task.FromResult<object>(DrlBenchmark.Run(drl, topology, unseen, options, apps));
    }

    /// <summary>--topology FILE.graphml, else Geant2012 from ../shared/data, else the topology shipped with the samples.</summary>
    private static string TopologyFile(CliArgs args)
    {
        if (args.Option("topology") is { } file)
            return File.Exists(file) ? file : throw new CliException($"no such topology file: {file}");
        return DefaultTopologyFile(args);
    }

    private static string DefaultTopologyFile(CliArgs args)
    {
        if (BenchCommands.SharedDataDirectory(args) is { } shared && File.Exists(Path.Combine(shared, "topology", "zoo", "Geant2012.graphml")))
            return Path.Combine(shared, "topology", "zoo", "Geant2012.graphml");
        var samples = Path.Combine(AppContext.BaseDirectory, "samples", "topology");
        return Directory.Exists(samples) && Directory.GetFiles(samples, "*.graphml").FirstOrDefault() is { } shipped
            ? shipped
            : throw new CliException("no topology: pass --topology FILE.graphml (an Internet Topology Zoo GraphML file)");
    }
}
