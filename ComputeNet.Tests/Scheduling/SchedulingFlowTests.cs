using System.Text.Json;
using Akka.Actor;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Nodes.ReservationEvents;

namespace ComputeNet.Tests.Scheduling;

/// <summary>The scheduling flow through the real actors on SQLite: plan, reserve, commit, deploy, acks, restarts.</summary>
public sealed class SchedulingFlowTests : IDisposable
{
    private static readonly TimeSpan Timeout = SchedulingHarness.Timeout;
    private readonly TempDirectory _dir = new("computenet-scheduling");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static string App(string name, double cpuCores, string accessPoint = "edge-0", int components = 1) =>
        AppSpecJson.Serialize(new AppSpec
        {
            Name = name,
            Kind = AppKind.Complex,
            AccessPoints = [accessPoint],
            Components = [.. Enumerable.Range(0, components).Select(c => new ComponentSpec
            {
                Id = $"part-{c}", Image = $"computenet/{name}-{c}:1", CpuCores = cpuCores, MemoryGb = 2, StorageGb = 1,
                WorkMiPerRequest = 10, RequestsPerSecond = 5, ExecutionTimeThresholdMs = 100, ReliabilityThreshold = 0.9,
                ColocationGroup = "all",
            })],
        });

    private static async Task Submit(SchedulingHarness harness, string appId, string specJson) =>
        (await harness.Apps.Ask<object>(new AppCommands.SubmitApp(appId, specJson), Timeout)).ShouldBeOfType<AppReplies.AppAccepted>();

    [Fact]
    public async Task Hundred_concurrent_apps_competing_for_scarce_capacity_never_over_commit_and_each_ends_placed_or_rejected_with_a_reason()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path);
        var nodes = Enumerable.Range(0, 4).Select(i => SchedulingHarness.Node($"edge-{i}", cpuCores: 8, memoryGb: 64)).ToList();
        await harness.RegisterAsync(nodes);

        var apps = Enumerable.Range(0, 100).Select(i => (Id: $"app-{i:D3}", Cores: 1.0 + i % 3)).ToList();
        await Task.WhenAll(apps.Select(a => Submit(harness, a.Id, App($"svc{a.Id[4..]}", a.Cores, accessPoint: $"edge-{a.Id[^1] % 4}"))));

        var outcomes = await Task.WhenAll(apps.Select(a => harness.WaitFor(a.Id, 180, AppLifecycle.Running, AppLifecycle.Rejected)));
        var running = outcomes.Where(o => o.Lifecycle == AppLifecycle.Running).ToList();
        var rejected = outcomes.Where(o => o.Lifecycle == AppLifecycle.Rejected).ToList();
        running.Count.ShouldBeGreaterThan(0);
        rejected.Count.ShouldBeGreaterThan(0, "the fleet has 32 cores for 200 cores of demand");
        foreach (var r in rejected) r.History[^1].Reason.ShouldStartWith("no placement:");
        foreach (var r in running) r.Decision.ShouldNotBeNull().Subtasks.ShouldAllBe(s => s.NodeId.StartsWith("edge-"));

        // Replay every node's persisted events: at no point do commitments plus open reservations exceed capacity.
        // Aborts are sent without waiting, so the last ones may still be on their way to the journal: replay until none is open.
        var committedOnNodes = 0.0;
        await Eventually.TrueAsync(() =>
        {
            var replays = nodes.Select(node => Replay(harness, node).Result).ToList();
            committedOnNodes = replays.Sum(r => r.Committed);
            return replays.All(r => r.Open == 0);
        }, seconds: 60);
        committedOnNodes.ShouldBe(running.Sum(r => r.Decision!.Subtasks.Sum(s => s.Demand.CpuCores)), 1e-9);
    }

    private static async Task<(double Committed, int Open)> Replay(SchedulingHarness harness, ComputeNet.Actors.Model.NodeSpec node)
    {
        var events = await harness.EventsOf(PersistenceIds.Node(node.NodeId));
        var reservations = events.OfType<CapacityReserved>().ToDictionary(r => r.ReservationId);
        var open = new Dictionary<string, double>();
        var committed = new Dictionary<(string App, string Subtask), double>();
        foreach (var e in events)
        {
            switch (e)
            {
                case CapacityReserved r:
                    open[r.ReservationId] = r.Demands.Sum(d => d.Demand.CpuCores);
                    break;
                case CapacityCommitted c:
                    var reservation = reservations[c.ReservationId];
                    foreach (var d in reservation.Demands) committed[(reservation.AppId, d.SubtaskId)] = d.Demand.CpuCores;
                    open.Remove(c.ReservationId);
                    break;
                case ReservationReleased released:
                    open.Remove(released.ReservationId);
                    break;
                case CapacityReleased released:
                    foreach (var key in committed.Keys.Where(k => k.App == released.AppId).ToList()) committed.Remove(key);
                    break;
            }
            (committed.Values.Sum() + open.Values.Sum()).ShouldBeLessThanOrEqualTo(node.CpuCores + 1e-9, $"{node.NodeId} after {e.GetType().Name}");
        }
        return (committed.Values.Sum(), open.Count);
    }

    [Fact]
    public async Task A_placed_app_is_deployed_with_its_image_and_stopping_it_releases_capacity_and_stops_its_subtasks()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path);
        await harness.RegisterAsync([SchedulingHarness.Node("edge-0", cpuCores: 8), SchedulingHarness.Node("edge-1", cpuCores: 8)]);

        await Submit(harness, "video-1", App("video", 3));
        var plan = await harness.WaitFor("video-1", 60, AppLifecycle.Running);
        plan.Decision!.Policy.ShouldBe("greedy-objective");
        plan.History.Select(h => h.Lifecycle).ShouldBe([AppLifecycle.Submitted, AppLifecycle.Decomposed, AppLifecycle.Planned,
            AppLifecycle.Deploying, AppLifecycle.Running]);
        var placement = plan.Decision.Subtasks.Single();
        placement.NodeId.ShouldBe("edge-0", "the only component is pinned by co-location and latency to nothing, and edge-0 is the user's access point");

        var recorded = await harness.Agents.Ask<RecordingAgents.Recorded>(new RecordingAgents.GetRecorded(), Timeout);
        var deploy = recorded.Deployments.Single();
        deploy.Components.Single().Image.ShouldBe("computenet/video-0:1");
        deploy.Resources.CpuCores.ShouldBe(3);
        deploy.NodeId.ShouldBe(placement.NodeId);

        (await harness.Apps.Ask<AppReplies.AppAccepted>(new AppCommands.StopApp("video-1", "test"), Timeout)).Lifecycle.ShouldBe(AppLifecycle.Stopped);
        await Eventually.TrueAsync(() =>
            harness.Nodes.Ask<ReservationReplies.NodeCapacityView>(new ReservationCommands.GetNodeCapacity(placement.NodeId), Timeout).Result.Committed == Resources.Zero);
        await Eventually.TrueAsync(() =>
            harness.Agents.Ask<RecordingAgents.Recorded>(new RecordingAgents.GetRecorded(), Timeout).Result.Removals.Any(r => r.AppId == "video-1"));
    }

    [Fact]
    public async Task A_failed_ack_re_places_only_that_subtask_away_from_the_failing_node()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, succeeds: d => d.NodeId != "edge-0" || d.AppId != "flaky-1");
        await harness.RegisterAsync([SchedulingHarness.Node("edge-0", cpuCores: 8), SchedulingHarness.Node("edge-1", cpuCores: 8)]);

        await Submit(harness, "flaky-1", App("flaky", 2));
        var plan = await harness.WaitFor("flaky-1", 60, AppLifecycle.Running);
        plan.Replacements.ShouldBe(1);
        plan.Decision!.Subtasks.Single().NodeId.ShouldBe("edge-1");
        plan.History.ShouldContain(h => h.Reason.Contains("image pull failed"));
        (await harness.Nodes.Ask<ReservationReplies.NodeCapacityView>(new ReservationCommands.GetNodeCapacity("edge-0"), Timeout))
            .Committed.ShouldBe(Resources.Zero);
    }

    [Fact]
    public async Task A_plan_survives_a_restart_mid_deployment_and_completes_when_the_agents_answer()
    {
        string nodeId;
        await using (var first = await SchedulingHarness.StartAsync(_dir.Path, acknowledge: false))
        {
            await first.RegisterAsync([SchedulingHarness.Node("edge-0", cpuCores: 8), SchedulingHarness.Node("edge-1", cpuCores: 8)]);
            await Submit(first, "game-1", App("game", 2, components: 2));
            var deploying = await first.WaitFor("game-1", 60, AppLifecycle.Deploying);
            nodeId = deploying.Decision!.Subtasks[0].NodeId;
        }

        await using var second = await SchedulingHarness.StartAsync(_dir.Path, acknowledge: true);
        // Recovery re-sends the commands nobody acknowledged; the agents answer this time.
        await second.Apps.Ask<object>(new AppSchedulingCommands.GetAppPlan("game-1"), Timeout);
        var running = await second.WaitFor("game-1", 60, AppLifecycle.Running);
        running.Decision!.Subtasks[0].NodeId.ShouldBe(nodeId);
        running.History.Count(h => h.Lifecycle == AppLifecycle.Planned).ShouldBe(1, "the restart resumed the plan, it did not plan again");
        var capacity = await second.Nodes.Ask<ReservationReplies.NodeCapacityView>(new ReservationCommands.GetNodeCapacity(nodeId), Timeout);
        capacity.Committed.CpuCores.ShouldBe(running.Decision.Subtasks.Where(s => s.NodeId == nodeId).Sum(s => s.Demand.CpuCores));
    }

    [Fact]
    public async Task An_app_no_node_can_host_is_rejected_with_the_reason()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path);
        await harness.RegisterAsync([SchedulingHarness.Node("edge-0", cpuCores: 2)]);
        await Submit(harness, "big-1", App("big", 4));
        var plan = await harness.WaitFor("big-1", 60, AppLifecycle.Rejected);
        plan.History[^1].Reason.ShouldStartWith("no placement:");
        plan.History[^1].Reason.ShouldContain("NodeCapability");
        JsonSerializer.Serialize(plan, ComputeNetSerializer.JsonOptions).ShouldNotBeEmpty();
    }
}
