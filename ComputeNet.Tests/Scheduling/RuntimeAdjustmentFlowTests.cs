using Akka.Actor;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Actors.Topology;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Apps.AppAdjustmentEvents;

namespace ComputeNet.Tests.Scheduling;

/// <summary>
/// Runtime adjustment (运行调整) through the real actors on SQLite: the rescheduler singleton follows the journal's drift
/// tag, the apps migrate make-before-break through the recording agents, and the nodes' ledgers stay exact.
/// </summary>
public sealed class RuntimeAdjustmentFlowTests : IDisposable
{
    private static readonly TimeSpan Timeout = SchedulingHarness.Timeout;
    private readonly TempDirectory _dir = new("computenet-adjustment");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>A front end pinned to the user's access node and a worker kept off it (anti-affinity), optionally talking over the network.</summary>
    private static string App(string name, double workerCores, string accessPoint = "edge-0", double? transferDelayMs = null) =>
        AppSpecJson.Serialize(new AppSpec
        {
            Name = name,
            Kind = AppKind.Complex,
            AccessPoints = [accessPoint],
            Components =
            [
                new ComponentSpec
                {
                    Id = "front", Image = $"computenet/{name}-front:1", CpuCores = 1, MemoryGb = 1, StorageGb = 1, ReliabilityThreshold = 0.9,
                    AntiAffinityGroup = "split", Pinning = ComputeNet.Actors.Model.Apps.Pinning.ToAccessNode(),
                },
                new ComponentSpec
                {
                    Id = "worker", Image = $"computenet/{name}-worker:1", CpuCores = workerCores, MemoryGb = 2, StorageGb = 1, ReliabilityThreshold = 0.9,
                    AntiAffinityGroup = "split",
                },
            ],
            Dependencies = transferDelayMs is { } delay
                ? [new DependencySpec { From = "front", To = "worker", DataRateMbps = 1, TransferDelayThresholdMs = delay }]
                : [],
        });

    private static ReschedulerSettings Immediate(TimeSpan? check = null) => new(
        CheckInterval: check ?? TimeSpan.FromHours(1),
        Debounce: TimeSpan.FromMilliseconds(100),
        Adjustment: new AdjustmentOptions(Stability: StabilityOptions.Default with { TriggerHold = TimeSpan.Zero, CoolDown = TimeSpan.Zero }),
        UseForecasts: false);

    private static async Task Submit(SchedulingHarness harness, string appId, string specJson) =>
        (await harness.Apps.Ask<object>(new AppCommands.SubmitApp(appId, specJson), Timeout)).ShouldBeOfType<AppReplies.AppAccepted>();

    private static Dictionary<string, string> Where(AppSchedulingReplies.AppPlanView plan) =>
        plan.Decision!.Subtasks.ToDictionary(s => s.SubtaskId, s => s.NodeId);

    /// <summary>The worker's subtask: anti-affinity keeps it off the front end's access node edge-0.</summary>
    private static (string SubtaskId, string NodeId) Worker(AppSchedulingReplies.AppPlanView plan) =>
        plan.Decision!.Subtasks.Where(s => s.NodeId != "edge-0").Select(s => (s.SubtaskId, s.NodeId)).Single();

    [Fact]
    public async Task A_dead_node_moves_every_subtask_it_ran_make_before_break_and_nothing_else_and_ledgers_stay_exact()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, rescheduler: Immediate());
        var nodes = Enumerable.Range(0, 4).Select(i => SchedulingHarness.Node($"edge-{i}", cpuCores: 8, memoryGb: 32)).ToList();
        await harness.RegisterAsync(nodes);
        string[] apps = ["app-a", "app-b", "app-c"];
        foreach (var id in apps) await Submit(harness, id, App(id.Replace("-", ""), workerCores: 2));
        var before = new Dictionary<string, Dictionary<string, string>>();
        foreach (var id in apps) before[id] = Where(await harness.WaitFor(id, 60, AppLifecycle.Running));

        var victim = before["app-a"].Values.First(n => n != "edge-0");
        await harness.Nodes.Ask<object>(new NodeCommands.DeregisterNode(victim), Timeout);

        var after = new Dictionary<string, Dictionary<string, string>>();
        await Eventually.GetAsync(async () =>
        {
            foreach (var id in apps)
            {
                var plan = await harness.PlanOf(id);
                if (plan.Lifecycle != AppLifecycle.Running) return null;
                after[id] = Where(plan);
            }
            return after.Values.All(placement => !placement.ContainsValue(victim)) ? after : null;
        }, seconds: 60);

        foreach (var id in apps)
            foreach (var (subtask, node) in before[id])
                if (node == victim) after[id][subtask].ShouldNotBe(victim);
                else after[id][subtask].ShouldBe(node, $"{id}/{subtask} was not on the dead node and must not move");

        var events = await harness.EventsOf(PersistenceIds.App("app-a"));
        var chain = events.Where(e => e is AppRescheduled or MigrationReserved or MigrationSubtaskDeployed or MigrationTrafficSwitched or MigrationCompleted)
            .Select(e => e.GetType().Name).ToList();
        chain.ShouldBe([nameof(AppRescheduled), nameof(MigrationReserved), nameof(MigrationSubtaskDeployed), nameof(MigrationTrafficSwitched), nameof(MigrationCompleted)]);
        var rescheduled = events.OfType<AppRescheduled>().Single();
        rescheduled.Trigger.ShouldContain($"node-deregistered {victim}");
        rescheduled.Moves.ShouldAllBe(m => m.FromNodeId == victim);

        // Make-before-break: the new instance is deployed before the old one is told to stop.
        var commands = (await harness.RecordedAsync()).Commands;
        var moved = rescheduled.Moves.Single();
        var deployAt = commands.ToList().FindIndex(c => c is SubtaskDeployment d && d.DeploymentId == rescheduled.MigrationId);
        deployAt.ShouldBeGreaterThanOrEqualTo(0);
        var stopAt = commands.ToList().FindIndex(c => c is SubtaskRemoval r && r.MigrationId == rescheduled.MigrationId && r.NodeId == victim);
        stopAt.ShouldBeGreaterThan(deployAt);

        await AssertLedgersMatchPlacements(harness, nodes.Select(n => n.NodeId), apps);
    }

    [Fact]
    public async Task An_oscillating_link_moves_the_worker_once_and_never_back_while_the_ping_pong_window_lasts()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, rescheduler: Immediate());
        await harness.RegisterAsync(Enumerable.Range(0, 3).Select(i => SchedulingHarness.Node($"edge-{i}")));
        var seq = 0L;
        async Task Latency(string dst, double latencyMs)
        {
            seq++;
            await harness.Topology.Ask<TopologyReplies.LinkTelemetryRecorded>(new TopologyCommands.RecordLinkTelemetry("edge-0", dst, "edge-0",
                [new LinkSample(seq, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 10_000, 9_000, latencyMs, 0, true)]), Timeout);
        }
        await Latency("edge-1", 2);
        await Latency("edge-2", 3);
        await Submit(harness, "app-osc", App("osc", workerCores: 2, transferDelayMs: 10));
        var (worker, first) = Worker(await harness.WaitFor("app-osc", 60, AppLifecycle.Running));
        var other = first == "edge-1" ? "edge-2" : "edge-1";

        for (var round = 0; round < 3; round++)
        {
            // The worker's first node slows down past the 10 ms budget while the other one is fast ...
            await Latency(first, 50);
            await Latency(other, 3);
            await Review(harness, $"round {round}: {first} slow", "app-osc");
            if (round == 0)
                await Eventually.GetAsync(async () => await harness.PlanOf("app-osc") is { Lifecycle: AppLifecycle.Running } p && Where(p)[worker] == other ? p : null);
            // ... then the other way round: moving back would be ping-pong.
            await Latency(first, 2);
            await Latency(other, 50);
            await Review(harness, $"round {round}: {other} slow", "app-osc");
            Where(await harness.PlanOf("app-osc"))[worker].ShouldBe(other, $"round {round}: the worker must not return to {first}");
        }

        var events = await harness.EventsOf(PersistenceIds.App("app-osc"));
        events.OfType<AppRescheduled>().ShouldHaveSingleItem().Moves.ShouldHaveSingleItem().ToNodeId.ShouldBe(other);
        var degraded = events.OfType<AppDegraded>().ToList();
        degraded.Count.ShouldBeGreaterThan(0, "held on its only other node, the app reports what it cannot meet");
        degraded.ShouldAllBe(d => d.Constraint == nameof(ConstraintKind.TransferDelay));
        events.OfType<AppDegradationCleared>().Count().ShouldBeGreaterThan(0, "the slow link recovers every other step");
    }

    /// <summary>An app directory that has not seen a single event yet (the journal-fed one lags by seconds under load).</summary>
    private sealed class EmptyAppDirectory : ReceiveActor
    {
        public EmptyAppDirectory() => Receive<AppDirectoryProtocol.ListApps>(_ => Sender.Tell(new AppDirectoryProtocol.AppList([])));
    }

    [Fact]
    public async Task A_running_app_the_lagging_app_directory_has_not_seen_yet_is_still_reviewed_and_moved_off_a_dead_node()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, rescheduler: Immediate(),
            appDirectory: Props.Create(() => new EmptyAppDirectory()));
        await harness.RegisterAsync(Enumerable.Range(0, 3).Select(i => SchedulingHarness.Node($"edge-{i}")));
        await Submit(harness, "app-new", App("new", workerCores: 2));
        var (worker, node) = Worker(await harness.WaitFor("app-new", 60, AppLifecycle.Running));

        await harness.Nodes.Ask<object>(new NodeCommands.DeregisterNode(node), Timeout);
        var moved = await Eventually.GetAsync(async () =>
            await harness.PlanOf("app-new") is { Lifecycle: AppLifecycle.Running } p && Where(p)[worker] != node ? p : null, seconds: 60);
        Where(moved)[worker].ShouldNotBe("edge-0");
    }

    [Fact]
    public async Task With_no_feasible_placement_the_app_degrades_explicitly_keeps_its_placement_and_recovers_when_a_node_arrives()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, rescheduler: Immediate(check: TimeSpan.FromSeconds(1)));
        await harness.RegisterAsync([SchedulingHarness.Node("edge-0"), SchedulingHarness.Node("edge-1"), SchedulingHarness.Node("edge-2", cpuCores: 2)]);
        await Submit(harness, "app-big", App("big", workerCores: 4));
        var (worker, node) = Worker(await harness.WaitFor("app-big", 60, AppLifecycle.Running));
        node.ShouldBe("edge-1");

        await harness.Nodes.Ask<object>(new NodeCommands.DeregisterNode("edge-1"), Timeout);
        var degraded = await Eventually.GetAsync(async () =>
            (await harness.EventsOf(PersistenceIds.App("app-big"))).OfType<AppDegraded>().FirstOrDefault(), seconds: 60);
        degraded.SubtaskId.ShouldBe(worker);
        degraded.Trigger.ShouldMatch("node-deregistered edge-1|periodic check");
        degraded.Reason.ShouldNotBeNullOrWhiteSpace();
        var kept = await harness.PlanOf("app-big");
        kept.Lifecycle.ShouldBe(AppLifecycle.Running);
        Where(kept)[worker].ShouldBe("edge-1", "the current placement is kept as the best partial service");
        kept.History[^1].Reason.ShouldContain("degraded");

        await harness.RegisterAsync([SchedulingHarness.Node("edge-3")]);
        // A new node is no drift event: the periodic check retries the degraded app.
        var recovered = await Eventually.GetAsync(async () =>
            await harness.PlanOf("app-big") is { Lifecycle: AppLifecycle.Running } p && Where(p)[worker] == "edge-3" ? p : null, seconds: 60);
        recovered.Decision!.Subtasks.Count(s => s.NodeId == "edge-0").ShouldBe(1, "the front end stays on the access node");
        var events = await harness.EventsOf(PersistenceIds.App("app-big"));
        events.OfType<AppDegradationCleared>().ShouldHaveSingleItem();
        events.OfType<MigrationCompleted>().ShouldHaveSingleItem();
        await AssertLedgersMatchPlacements(harness, ["edge-0", "edge-1", "edge-2", "edge-3"], ["app-big"]);
    }

    [Fact]
    public async Task A_failed_deploy_on_the_new_node_rolls_the_migration_back_and_the_app_keeps_running_where_it_was_with_exact_ledgers()
    {
        // Every agent fails a migration's deploy (the first deployment succeeds).
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, succeeds: d => !d.DeploymentId.Contains(":m"));
        var (before, migrationId, target) = await StartMigration(harness, "app-nack");

        var rolledBack = await Eventually.GetAsync(async () =>
            (await harness.EventsOf(PersistenceIds.App("app-nack"))).OfType<MigrationRolledBack>().FirstOrDefault(), seconds: 60);
        rolledBack.MigrationId.ShouldBe(migrationId);
        rolledBack.Reason.ShouldContain($"the agent of '{target}' reported deploy-subtask failed: image pull failed");
        await AssertRolledBack(harness, "app-nack", before, migrationId, target);
    }

    [Fact]
    public async Task A_new_node_that_never_acknowledges_rolls_the_migration_back_after_the_ack_timeout_with_exact_ledgers()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path, apps: new AppSchedulingSettings(AckTimeout: TimeSpan.FromSeconds(8)));
        var (before, migrationId, target) = await StartMigration(harness, "app-silent", beforeMove: () => harness.Agents.Tell(new RecordingAgents.SetAcknowledge(false)));

        var rolledBack = await Eventually.GetAsync(async () =>
            (await harness.EventsOf(PersistenceIds.App("app-silent"))).OfType<MigrationRolledBack>().FirstOrDefault(), seconds: 60);
        rolledBack.MigrationId.ShouldBe(migrationId);
        rolledBack.Reason.ShouldBe("no answer within 8 s at step Reserved");
        await AssertRolledBack(harness, "app-silent", before, migrationId, target);
    }

    /// <summary>Runs an app on edge-0 and edge-1 or -2, then tells it to move its worker to the other node (as the rescheduler would).</summary>
    private static async Task<(AppSchedulingReplies.AppPlanView Before, string MigrationId, string Target)> StartMigration(
        SchedulingHarness harness, string appId, Action? beforeMove = null)
    {
        await harness.RegisterAsync(Enumerable.Range(0, 3).Select(i => SchedulingHarness.Node($"edge-{i}")));
        await Submit(harness, appId, App(appId.Replace("-", ""), workerCores: 2));
        var before = await harness.WaitFor(appId, 60, AppLifecycle.Running);
        var (worker, from) = Worker(before);
        var target = from == "edge-1" ? "edge-2" : "edge-1";
        var decision = before.Decision! with
        {
            Subtasks = [.. before.Decision!.Subtasks.Select(s => s.SubtaskId == worker ? s with { NodeId = target, RunnersUp = [] } : s)],
        };
        beforeMove?.Invoke();
        var answer = await harness.Apps.Ask<AppAdjustmentReplies.AdjustmentAnswer>(new AppAdjustmentCommands.AdjustApp(appId, "test", "moved by the test",
            [new PlannedMove(worker, from, target, before.Decision.For(worker)!.Demand, BreakBeforeMake: false)], decision, 0, 0), Timeout);
        answer.Outcome.ShouldBe("started");
        var rescheduled = (await harness.EventsOf(PersistenceIds.App(appId))).OfType<AppRescheduled>().Single();
        return (before, rescheduled.MigrationId, target);
    }

    /// <summary>
    /// After a rollback before the switch: the app runs where it ran, the chain in its journal ends in the rollback (no
    /// switch, no completion), the new instance was told to stop while the old one never was, and every ledger is exact.
    /// </summary>
    private static async Task AssertRolledBack(SchedulingHarness harness, string appId, AppSchedulingReplies.AppPlanView before, string migrationId, string target)
    {
        var after = await harness.PlanOf(appId);
        after.Lifecycle.ShouldBe(AppLifecycle.Running);
        Where(after).ShouldBe(Where(before));
        after.History[^1].Reason.ShouldContain($"migration {migrationId} rolled back");

        var chain = (await harness.EventsOf(PersistenceIds.App(appId)))
            .Where(e => e is AppRescheduled or MigrationReserved or MigrationSubtaskDeployed or MigrationTrafficSwitched or MigrationCompleted or MigrationRolledBack)
            .Select(e => e.GetType().Name).ToList();
        chain.ShouldBe([nameof(AppRescheduled), nameof(MigrationReserved), nameof(MigrationRolledBack)]);

        var (worker, from) = Worker(before);
        var commands = (await harness.RecordedAsync()).Commands.ToList();
        var deployAt = commands.FindIndex(c => c is SubtaskDeployment d && d.DeploymentId == migrationId && d.NodeId == target && d.SubtaskId == worker);
        deployAt.ShouldBeGreaterThanOrEqualTo(0);
        commands.FindIndex(c => c is SubtaskRemoval r && r.MigrationId == migrationId && r.NodeId == target && r.SubtaskId == worker).ShouldBeGreaterThan(deployAt);
        commands.OfType<SubtaskRemoval>().ShouldNotContain(r => r.NodeId == from, "the old instance keeps serving");

        await AssertLedgersMatchPlacements(harness, ["edge-0", "edge-1", "edge-2"], [appId]);
        var released = (ReservationReplies.NodeCapacityView)await harness.Nodes.Ask<object>(new ReservationCommands.GetNodeCapacity(target), Timeout);
        released.Allocations.ShouldBeEmpty();
        released.Reserved.ShouldBe(Resources.Zero);
    }

    /// <summary>Asks the rescheduler for a review and waits until it has told the apps (and they answered).</summary>
    private static async Task Review(SchedulingHarness harness, string trigger, string appId)
    {
        await harness.Rescheduler.Ask<ReschedulerProtocol.ReviewDone>(new ReschedulerProtocol.ReviewNow(trigger), TimeSpan.FromSeconds(60));
        // Let a migration the review started finish (the recording agents answer at once).
        await harness.WaitFor(appId, 30, AppLifecycle.Running);
    }

    /// <summary>Every node's committed allocations are exactly the running apps' placements, and no reservation is left open.</summary>
    internal static async Task AssertLedgersMatchPlacements(SchedulingHarness harness, IEnumerable<string> nodeIds, IEnumerable<string> appIds)
    {
        var expected = new Dictionary<string, double>();
        foreach (var id in appIds)
            foreach (var s in (await harness.PlanOf(id)).Decision!.Subtasks)
                expected[s.NodeId] = expected.GetValueOrDefault(s.NodeId) + s.Demand.CpuCores;
        await Eventually.GetAsync(async () =>
        {
            foreach (var nodeId in nodeIds)
            {
                var view = (ReservationReplies.NodeCapacityView)await harness.Nodes.Ask<object>(new ReservationCommands.GetNodeCapacity(nodeId), Timeout);
                if (view.Reservations.Count > 0 || Math.Abs(view.Committed.CpuCores - expected.GetValueOrDefault(nodeId)) > 1e-9) return null;
            }
            return "exact";
        }, seconds: 30);
    }
}
