using System.Diagnostics;
using System.Text.Json.Serialization;
using Akka.Actor;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Placement;
using Fleet = ComputeNet.Actors.Placement.Generation.Fleet;
using ComputeNet.Actors.Topology;
using static ComputeNet.Actors.Nodes.ReservationCommands;
using static ComputeNet.Actors.Nodes.ReservationReplies;
using static ComputeNet.Actors.Scheduling.SchedulerProtocol;

namespace ComputeNet.Actors.Scheduling;

public sealed record ThroughputFigures(
    [property: JsonPropertyName("placements_per_s")] double PlacementsPerSecond,
    [property: JsonPropertyName("placements_committed")] int Committed,
    [property: JsonPropertyName("placements_rejected")] int Rejected,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("nodes")] int Nodes,
    [property: JsonPropertyName("fleet_cpu_load")] double FleetCpuLoad,
    [property: JsonPropertyName("mean_planning_rounds")] double MeanPlanningRounds,
    [property: JsonPropertyName("policy")] string Policy,
    [property: JsonPropertyName("concurrency")] int Concurrency)
{
    [JsonPropertyName("persistence")]
    public string Persistence { get; init; } = "";

    /// <summary>Why placements were rejected (the fleet is half full, so some user-pinned apps find no room nearby).</summary>
    [JsonPropertyName("rejection_reasons")]
    public IReadOnlyDictionary<string, int> RejectionReasons { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Sustained throughput of the scheduling shell: placements planned, reserved and committed through real
/// NodeActors (persisted events, on whatever journal the given system uses), with every node half loaded by a
/// committed background allocation. Each placement is released after its commit so the load stays at half.
/// The node directory and topology are stand-ins answering with the generated fleet.
/// </summary>
public static class SchedulingThroughputBenchmark
{
    private sealed class ByNodeId : ReceiveActor
    {
        public ByNodeId(IReadOnlyDictionary<string, IActorRef> nodes) => ReceiveAny(message =>
        {
            if (message is INodeMessage m && nodes.TryGetValue(m.NodeId, out var node)) node.Forward(message);
            else Sender.Tell(new NodeReplies.NodeNotFound((message as INodeMessage)?.NodeId ?? "?"));
        });
    }

    private sealed class Answering : ReceiveActor
    {
        public Answering(object answer) => ReceiveAny(_ => Sender.Tell(answer));
    }

    public static async Task<ThroughputFigures> RunAsync(ActorSystem system, Fleet fleet, int placements = 2000, int concurrency = 16,
        string policy = "greedy-objective", int seed = 7)
    {
        var timeout = TimeSpan.FromSeconds(60);
        var specs = fleet.Nodes.Select(n => new Model.NodeSpec(n.Id, n.Region, n.Tier, n.Capacity.CpuCores, n.Capacity.MemoryGb, n.Capacity.StorageGb,
            (int)n.Capacity.Gpus, n.Reliability, n.IdleW, n.PeakW, n.SpeedMipsPerCore, new Dictionary<string, string>())).ToList();
        var settings = new NodeActorSettings { SilenceTimeout = TimeSpan.FromHours(1) };
        var actors = specs.ToDictionary(s => s.NodeId, s => system.ActorOf(NodeActor.Props(s.NodeId, settings, TimeProvider.System)));
        var region = system.ActorOf(Props.Create(() => new ByNodeId(actors)));

        await Task.WhenAll(specs.Select(s => region.Ask<NodeReplies.RegistrationAccepted>(new NodeCommands.RegisterNode(s), timeout)));
        // Half load: a committed background allocation of half of every node.
        await Task.WhenAll(fleet.Nodes.Select(async n =>
        {
            await region.Ask<ReservationGranted>(new ReserveCapacity(n.Id, $"background-{n.Id}", "background",
                [new SubtaskDemand("load", n.Capacity.Scale(0.5))], TimeSpan.FromHours(1)), timeout);
            await region.Ask<ReservationCommitted>(new CommitReservation(n.Id, $"background-{n.Id}"), timeout);
        }));

        var now = DateTimeOffset.UtcNow;
        var directory = system.ActorOf(Props.Create(() => new Answering(new NodeDirectoryProtocol.NodeList(
            specs.Select(s => new NodeDirectoryProtocol.NodeEntry(s, $"agent-{s.NodeId}", NodeLifecycle.Registered, now, now) { Health = NodeHealth.Up }).ToList(),
            specs.Count))));
        var topology = system.ActorOf(Props.Create(() => new Answering(new TopologyReplies.TopologyView(fleet.Network.Links.Select(l =>
            new TopologyReplies.LinkView(fleet.Nodes[l.NodeA].Id, fleet.Nodes[l.NodeB].Id, true, null, null,
                new LinkSample(1, 0, l.BandwidthMbps, l.AvailableMbps, l.LatencyMs, 0, true), 1, now)).ToList()))));
        var scheduler = system.ActorOf(SchedulerActor.Props(region, directory, topology, PolicyRegistry.CreateDefault(), new SchedulerSettings(policy)));

        var templates = Templates().Select(spec => (Spec: spec, Decomposition: MultiGranularityDecomposer.Decompose(spec, NodeClassCatalog.Default))).ToList();
        var users = fleet.Nodes.Where(n => n.Tier != NodeTier.Cloud).Select(n => n.Id).ToList();
        var random = new Random(seed);
        var requests = Enumerable.Range(0, placements).Select(i =>
        {
            var (spec, decomposition) = templates[i % templates.Count];
            return new PlanRequest($"bench-{i:D6}", spec with { AccessPoints = [users[random.Next(users.Count)]] }, decomposition, policy);
        }).ToList();

        var committed = 0;
        var rejected = 0;
        var reasons = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        long rounds = 0;
        using var gate = new SemaphoreSlim(concurrency);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(requests.Select(async request =>
        {
            await gate.WaitAsync();
            try
            {
                var reply = await scheduler.Ask<object>(new PlaceApp(request), timeout);
                if (reply is not PlacementReserved reserved)
                {
                    Interlocked.Increment(ref rejected);
                    var reason = $"{request.Spec.Name}: {(reply as PlacementImpossible)?.Reason ?? reply.GetType().Name}";
                    reasons.AddOrUpdate(reason.Length > 160 ? reason[..160] : reason, 1, (_, n) => n + 1);
                    return;
                }
                await Task.WhenAll(reserved.ReservedNodes.Select(n => region.Ask<ReservationCommitted>(new CommitReservation(n, reserved.ReservationId), timeout)));
                Interlocked.Increment(ref committed);
                Interlocked.Add(ref rounds, reserved.Decision.PlanningRounds);
                await Task.WhenAll(reserved.ReservedNodes.Select(n => region.Ask<CapacityReleaseDone>(new ReleaseCapacity(n, request.AppId, []), timeout)));
            }
            finally
            {
                gate.Release();
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;

        foreach (var actor in actors.Values.Concat([region, directory, topology, scheduler])) system.Stop(actor);
        return new ThroughputFigures(Math.Round(committed / seconds, 1), committed, rejected, Math.Round(seconds, 2), specs.Count, 0.5,
            committed == 0 ? 0 : Math.Round(rounds / (double)committed, 3), policy, concurrency)
        {
            RejectionReasons = reasons.OrderByDescending(r => r.Value).Take(5).ToDictionary(r => r.Key, r => r.Value),
        };
    }

    /// <summary>Small service shapes: a single relay, a user-pinned client with a back end, and a three-stage pipeline.</summary>
    private static IEnumerable<AppSpec> Templates()
    {
        ComponentSpec Component(string id, double cores, double memoryGb, Model.Apps.Pinning? pinning = null) => new()
        {
            Id = id, Image = $"bench/{id}:1", CpuCores = cores, MemoryGb = memoryGb, StorageGb = 1, WorkMiPerRequest = 5, RequestsPerSecond = 10,
            ExecutionTimeThresholdMs = 50, ReliabilityThreshold = 0.9, Pinning = pinning,
        };
        yield return new AppSpec { Name = "relay", Kind = AppKind.Complex, Components = [Component("relay", 1, 1)] };
        yield return new AppSpec
        {
            Name = "client-backend", Kind = AppKind.Complex,
            Components = [Component("client", 0.5, 0.5, Model.Apps.Pinning.ToAccessNode()), Component("backend", 2, 4, Model.Apps.Pinning.ToTier(NodeTier.Edge))],
            Dependencies = [new DependencySpec { From = "client", To = "backend", DataRateMbps = 2, TransferDelayThresholdMs = 40 }],
        };
        yield return new AppSpec
        {
            Name = "pipeline", Kind = AppKind.Complex,
            Components = [Component("ingest", 1, 2), Component("transform", 2, 4), Component("store", 1, 8)],
            Dependencies =
            [
                new DependencySpec { From = "ingest", To = "transform", DataRateMbps = 5, TransferDelayThresholdMs = 60 },
                new DependencySpec { From = "transform", To = "store", DataRateMbps = 1 },
            ],
        };
    }
}
