using Akka.Actor;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Persistence;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Nodes.ReservationCommands;
using static ComputeNet.Actors.Nodes.ReservationReplies;

namespace ComputeNet.Tests.Scheduling;

/// <summary>Two-phase reservations on a NodeActor, through the host's wiring on SQLite.</summary>
public sealed class ReservationTests : IDisposable
{
    private static readonly TimeSpan Timeout = SchedulingHarness.Timeout;
    private readonly TempDirectory _dir = new("computenet-reservations");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private static SubtaskDemand Cores(string subtask, double cores) => new(subtask, new Resources(cores, 1, 1, 0));

    [Fact]
    public async Task Concurrent_reservations_never_over_commit_and_commit_abort_release_account_correctly()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path);
        await harness.RegisterAsync([SchedulingHarness.Node("n1", cpuCores: 8)]);

        // 20 plans of 3 cores each race for 8 cores: exactly two can win.
        var replies = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            harness.Nodes.Ask<object>(new ReserveCapacity("n1", $"r{i}", $"app-{i}", [Cores("s", 3)], TimeSpan.FromMinutes(1)), Timeout)));
        var granted = replies.OfType<ReservationGranted>().ToList();
        granted.Count.ShouldBe(2);
        replies.OfType<ReservationRefused>().Count().ShouldBe(18);
        replies.OfType<ReservationRefused>().First().Reason.ShouldContain("free");

        // The same reservation again is idempotent, not a second hold.
        (await harness.Nodes.Ask<object>(new ReserveCapacity("n1", granted[0].ReservationId, "x", [Cores("s", 3)], TimeSpan.FromMinutes(1)), Timeout))
            .ShouldBeOfType<ReservationGranted>();

        (await harness.Nodes.Ask<object>(new CommitReservation("n1", granted[0].ReservationId), Timeout)).ShouldBeOfType<ReservationCommitted>();
        (await harness.Nodes.Ask<object>(new CommitReservation("n1", granted[0].ReservationId), Timeout)).ShouldBeOfType<ReservationCommitted>();
        (await harness.Nodes.Ask<object>(new AbortReservation("n1", granted[1].ReservationId), Timeout)).ShouldBeOfType<ReservationAborted>();
        (await harness.Nodes.Ask<object>(new CommitReservation("n1", granted[1].ReservationId), Timeout)).ShouldBeOfType<ReservationRefused>();

        var view = await harness.Nodes.Ask<NodeCapacityView>(new GetNodeCapacity("n1"), Timeout);
        view.Committed.CpuCores.ShouldBe(3);
        view.Reserved.CpuCores.ShouldBe(0);
        view.Available.CpuCores.ShouldBe(5);

        var appOfCommitted = view.Allocations.Single().AppId;
        await harness.Nodes.Ask<CapacityReleaseDone>(new ReleaseCapacity("n1", appOfCommitted, []), Timeout);
        (await harness.Nodes.Ask<NodeCapacityView>(new GetNodeCapacity("n1"), Timeout)).Available.CpuCores.ShouldBe(8);
    }

    [Fact]
    public async Task A_reservation_nobody_commits_expires_and_is_released_by_a_persisted_event()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path);
        await harness.RegisterAsync([SchedulingHarness.Node("n1", cpuCores: 4)]);

        (await harness.Nodes.Ask<object>(new ReserveCapacity("n1", "short", "app-a", [Cores("s", 4)], TimeSpan.FromMilliseconds(300)), Timeout))
            .ShouldBeOfType<ReservationGranted>();
        await Eventually.TrueAsync(() =>
            harness.EventsOf(PersistenceIds.Node("n1")).Result.OfType<ReservationEvents.ReservationReleased>().Any(r => r.Reason == "expired"));

        (await harness.Nodes.Ask<object>(new CommitReservation("n1", "short"), Timeout)).ShouldBeOfType<ReservationRefused>()
            .Reason.ShouldContain("expired");
        (await harness.Nodes.Ask<object>(new ReserveCapacity("n1", "next", "app-b", [Cores("s", 4)], TimeSpan.FromMinutes(1)), Timeout))
            .ShouldBeOfType<ReservationGranted>();
    }

    [Fact]
    public async Task Accounting_survives_a_restart_and_a_reservation_outliving_its_host_expires_after_recovery()
    {
        await using (var first = await SchedulingHarness.StartAsync(_dir.Path))
        {
            await first.RegisterAsync([SchedulingHarness.Node("n1", cpuCores: 8)]);
            await first.Nodes.Ask<ReservationGranted>(new ReserveCapacity("n1", "kept", "app-a", [Cores("s", 5)], TimeSpan.FromMinutes(1)), Timeout);
            await first.Nodes.Ask<ReservationCommitted>(new CommitReservation("n1", "kept"), Timeout);
            await first.Nodes.Ask<ReservationGranted>(new ReserveCapacity("n1", "dangling", "app-b", [Cores("s", 3)], TimeSpan.FromSeconds(2)), Timeout);
        }

        await using var second = await SchedulingHarness.StartAsync(_dir.Path);
        var view = await second.Nodes.Ask<NodeCapacityView>(new GetNodeCapacity("n1"), Timeout);
        view.Committed.CpuCores.ShouldBe(5);
        view.Allocations.Single().AppId.ShouldBe("app-a");

        await Eventually.TrueAsync(() =>
            second.EventsOf(PersistenceIds.Node("n1")).Result.OfType<ReservationEvents.ReservationReleased>().Any(r => r.ReservationId == "dangling"));
        (await second.Nodes.Ask<NodeCapacityView>(new GetNodeCapacity("n1"), Timeout)).Available.CpuCores.ShouldBe(3);
    }
    [Fact]
    public async Task A_node_busy_with_other_work_offers_what_its_forecast_leaves_not_its_registered_capacity()
    {
        await using var harness = await SchedulingHarness.StartAsync(_dir.Path);
        var registered = await harness.Nodes.Ask<NodeReplies.RegistrationAccepted>(
            new NodeCommands.RegisterNode(SchedulingHarness.Node("n1", cpuCores: 16, memoryGb: 32)), Timeout);
        (await harness.Nodes.Ask<NodeCapacityView>(new GetNodeCapacity("n1"), Timeout)).Available.CpuCores.ShouldBe(16);

        // Twelve of sixteen cores busy for six forecasting intervals (five minutes each, on the agent's clock).
        var interval = new ComputeNet.Actors.Forecasting.LiveForecastSettings().IntervalMs;
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 7 * interval;
        var samples = Enumerable.Range(0, 7)
            .Select(i => new ComputeNet.Actors.Model.NodeUsageSample(i + 1, start + i * interval, 12, 8, 10, 0, 200, true))
            .ToList();
        await harness.Nodes.Ask<NodeReplies.NodeTelemetryRecorded>(
            new NodeCommands.RecordNodeTelemetry("n1", registered.Agent.AgentToken, samples), Timeout);

        var view = await harness.Nodes.Ask<NodeCapacityView>(new GetNodeCapacity("n1"), Timeout);
        view.Available.CpuCores.ShouldBe(4, tolerance: 0.5);
        view.Available.MemoryGb.ShouldBe(24, tolerance: 1);
        (await harness.Nodes.Ask<object>(new ReserveCapacity("n1", "too-big", "app-a", [Cores("s", 6)], TimeSpan.FromMinutes(1)), Timeout))
            .ShouldBeOfType<ReservationRefused>();
        (await harness.Nodes.Ask<object>(new ReserveCapacity("n1", "fits", "app-a", [Cores("s", 3)], TimeSpan.FromMinutes(1)), Timeout))
            .ShouldBeOfType<ReservationGranted>();
    }
    [Fact]
    public void The_forecast_of_the_nodes_other_work_bounds_everything_computenet_holds_there()
    {
        var now = DateTimeOffset.UtcNow;
        var capacity = new Resources(16, 64, 500, 0);
        var ledger = NodeCapacityLedger.Empty
            .Reserve(new CapacityReservation("running", "app-a", [Cores("s1", 4)], now.AddMinutes(1)))
            .Commit("running");

        // Agents report the node's use by everything but ComputeNet's subtasks: 10 cores of other work leave 6, of which the 4 committed take their share.
        ledger.Available(capacity, new Resources(6, 40, 500, 0), now).CpuCores.ShouldBe(2);
        // With no other work (or no forecast yet) the capacity is what bounds.
        ledger.Available(capacity, new Resources(16, 64, 500, 0), now).CpuCores.ShouldBe(12);
        ledger.Available(capacity, forecastAvailable: null, now).CpuCores.ShouldBe(12);
        NodeCapacityLedger.Placeable(capacity, new Resources(6, 80, 500, 0)).ShouldBe(new Resources(6, 64, 500, 0));

        // Reservations come off as well; what the holdings exceed is never offered.
        var reserved = ledger.Reserve(new CapacityReservation("pending", "app-b", [Cores("s2", 1)], now.AddMinutes(1)));
        reserved.Available(capacity, new Resources(6, 40, 500, 0), now).CpuCores.ShouldBe(1);
        reserved.Available(capacity, new Resources(3, 40, 500, 0), now).CpuCores.ShouldBe(0);
    }
}
