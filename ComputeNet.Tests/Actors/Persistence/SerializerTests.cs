using Akka.Actor;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Actors.Topology;
using Shouldly;
using NodeSpec = ComputeNet.Actors.Model.NodeSpec;
using Xunit;

namespace ComputeNet.Tests.Actors.Persistence;

public sealed class SerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serializer-tests");

    public void Dispose() => _system.Dispose();

    public static readonly NodeSpec Spec = new("edge-1", "cn-east", NodeTier.Edge, 8, 32, 200, 1, 0.99, 60, 250, 2500,
        new Dictionary<string, string> { ["site"] = "sh-2" });

    private static readonly AgentCredentials Agent = new("agent-edge-1", "secret-token", 5000);
    private static readonly DateTimeOffset At = new(2026, 11, 25, 4, 0, 0, TimeSpan.Zero);
    private static readonly DrlModelSwapped Swapped = new(3, -3.5, -4.25, 72, 24, "data/models/placement-drl.evolved-3.bin", At);
    private static readonly NodeUsageSample Usage = new(42, 1_795_000_000_000, 3.5, 12, 120, 0.5, 180, true);
    private static readonly NodeUsageWindow Window = new(1_795_000_000_000, 1_795_000_004_000, 5, 3.1, 3.9, 11.5, 120, 0.4, 175);
    private static readonly LinkSample Link = new(7, 1_795_000_000_000, 10_000, 6_500, 12.5, 0.001, true);
    private static readonly LinkState LinkState = new("edge-1", "cloud-1", true, null, At, Link, 8, At,
        new Dictionary<string, long> { ["edge-1"] = 7 }, [Link]) { Drifts = DriftMarks.None.With("latency_ms", At) };
    private static readonly LiveForecastState Forecast = new(
        [new LiveMetric("cpu_available_cores", 0, 8), new LiveMetric("latency_ms", 0, double.PositiveInfinity)], 5_983_333, [9.5, 24], 2,
        [new ClosedInterval(5_983_332, [4.75, 12.5])]);
    private static readonly MetricForecast CpuForecast = new("cpu_available_cores", 4.75,
        [new ForecastPoint(1, 4.8, 4.1, 5.5), new ForecastPoint(5, 4.9, 3.5, 6.3)], ["holt_winters", "autoregressive"]);

    private static readonly SubtaskDemand Demand = new("s1", new Resources(2, 4, 10, 0));

    private static readonly PlacementDecision Decision = new("edge", "greedy-objective", new ObjectiveBreakdown(0.1, 0.2, 30, 0.4),
        [new SubtaskPlacement("s1", "edge-1", Demand.Demand, [new RunnerUp("edge-2", 0.5)])], 1);

    private static readonly PlannedMove Move = new("s1", "edge-1", "edge-2", Demand.Demand, BreakBeforeMake: false);

    /// <summary>One sample of every type the serializer owns; the test below fails when a type is added without one.</summary>
    public static readonly IReadOnlyList<object> Samples =
    [
        new NodeEvents.NodeRegistered(Spec, Agent, At),
        new NodeEvents.NodeUpdated(Spec with { CpuCores = 16 }, At),
        new NodeEvents.NodeDeregistered("edge-1", At),
        new NodeState("edge-1", NodeLifecycle.Registered, Spec, Agent, At, At.AddMinutes(1), 3)
        {
            Health = NodeHealth.Up,
            HealthChangedAt = At,
            Telemetry = new NodeTelemetryState(42, 100, Usage, [Window]),
            Forecast = Forecast,
            Drifts = DriftMarks.None.With("cpu_available_cores", At),
            Capacity = new NodeCapacityLedger([new CapacityReservation("ar-2:r", "ar-2", [new("s2", new(1, 1, 1, 0))], At)],
                [new CapacityAllocation("ar-1", "s1", "ar-1:r1", new(2, 4, 10, 0))]),
        },
        new NodeTelemetryCheckpointed("edge-1", 43, 101, Usage, [Window], 60, Reset: false,
            new ForecastCheckpoint([new LiveMetric("cpu", 0, 8)], 5, [1.5], 2, [new ClosedInterval(4, [3.25])], 288, Replace: false)),
        new NodeTelemetryCheckpointed("edge-1", 44, 102, Usage, [], 60, Reset: false,
            new ForecastCheckpoint(Metrics: null, 5, [2.5], 3, [], 288, Replace: false)),
        new NodeTelemetryJournalState(new NodeTelemetryState(43, 101, Usage, [Window, Window]), LiveForecastState.Empty),
        new NodeEvents.NodeWentDown("edge-1", "no telemetry for 30 s", At),
        new NodeEvents.NodeCameUp("edge-1", At),
        new NodeCommands.RecordNodeTelemetry("edge-1", "secret-token", [Usage, Usage with { Seq = 43 }]),
        new NodeCommands.CheckpointTelemetry("edge-1", 43),
        new NodeCommands.WakeUp("edge-1"),
        new NodeCommands.AuthenticateAgent("edge-1", "secret-token"),
        new NodeQueries.GetNodeTelemetry("edge-1"),
        new NodeReplies.NodeTelemetryRecorded("edge-1", 1, 1, 43, [new SampleRejection(1, 44, "over capacity")]),
        new NodeReplies.TelemetryCheckpointed("edge-1", 43),
        new NodeReplies.AgentAuthentication("edge-1", false, "agentToken does not match"),
        new NodeReplies.NodeTelemetryView("edge-1", NodeHealth.Up, At, 43, 100, Usage, [Window]),
        new TopologyEvents.LinkWentDown("edge-1", "cloud-1", "no telemetry for 30 s", At),
        new TopologyEvents.LinkCameUp("edge-1", "cloud-1", At),
        new TopologySnapshot([LinkState]) { Forecasts = [new LinkForecastState("edge-1|cloud-1", Forecast)] },
        new TopologyCommands.RecordLinkTelemetry("edge-1", "cloud-1", "edge-1", [Link]),
        new TopologyCommands.CheckpointTopology(),
        new TopologyQueries.GetTopology(),
        new TopologyQueries.GetPath("edge-1", "cloud-1"),
        new TopologyReplies.LinkTelemetryRecorded("edge-1", "cloud-1", 1, 0, 7),
        new TopologyReplies.TopologyCheckpointed(),
        new TopologyReplies.LinkView("edge-1", "cloud-1", true, null, At, Link, 8, At),
        new TopologyReplies.TopologyView([new TopologyReplies.LinkView("edge-1", "cloud-1", false, "down", At, null, 0, At)]),
        new TopologyReplies.PathView("edge-1", "cloud-1", new NetworkPath(["edge-1", "cloud-1"], 12.5, 6_500, 0.001)),
        new NodeCommands.RegisterNode(Spec),
        new NodeCommands.DeregisterNode("edge-1"),
        new NodeQueries.GetNode("edge-1"),
        new NodeReplies.RegistrationAccepted("edge-1", RegistrationOutcome.Updated, Agent),
        new NodeReplies.DeregistrationAccepted("edge-1", true),
        new NodeReplies.NodeView("edge-1", Spec, "agent-edge-1", NodeLifecycle.Registered, At, At, 2) { Health = NodeHealth.Down, Usage = Usage },
        new NodeReplies.NodeNotFound("edge-9"),
        new AppEvents.AppSubmitted("ar-1", "ar", "{\"name\":\"ar\"}", At),
        new AppEvents.AppDecomposed("ar-1", "{\"granularities\":[]}", "edge: 3 subtask(s)", At),
        new AppEvents.AppRejected("ar-1", "no node class can host it", At),
        new AppEvents.AppStopped("ar-1", "stopped by DELETE", At),
        new AppState("ar-1", "ar", AppLifecycle.Deploying, "{}", "{}", [new AppTransition(AppLifecycle.Submitted, At, "submitted")])
        {
            Placement = new AppPlacementState(new PlacementDecision("edge", "best-fit", new ObjectiveBreakdown(0, 0, 1, 0.002),
                [new SubtaskPlacement("s1", "edge-1", new(2, 4, 10, 0), [])], 2), "ar-1:r1", ["edge-1"], "ar-1:r1", ["s1"], [], [], 1),
            Migration = new AppMigrationState("ar-1:m1", "periodic check", [Move], Decision, MigrationStep.Started, []),
            Degradation = new AppDegradation("periodic check", "TransferDelay", "s1", "no route fast enough", At),
        },
        new AppCommands.SubmitApp("ar-1", "{}"),
        new AppCommands.StopApp("ar-1", "because"),
        new AppQueries.GetApp("ar-1"),
        new AppReplies.AppAccepted("ar-1", AppLifecycle.Submitted),
        new AppReplies.AppCommandRefused("ar-1", "taken"),
        new AppReplies.AppNotFound("ar-9"),
        new NodeEvents.NodeDrifted("edge-1", "cpu_available_cores", DriftDirection.Down, 7.5, 4.5, At.AddMinutes(-10), At.AddMinutes(-5), 9.25, At),
        new NodeQueries.GetNodeForecast("edge-1"),
        new NodeReplies.NodeForecastView("edge-1", 300_000, 42, [CpuForecast]),
        new TopologyEvents.LinkDrifted("edge-1", "cloud-1", "latency_ms", DriftDirection.Up, 12.5, 25, At.AddMinutes(-10), At.AddMinutes(-5), 8, At),
        new TopologyQueries.GetLinkForecast("edge-1", "cloud-1"),
        new TopologyReplies.LinkForecastView("edge-1", "cloud-1", 300_000, 42, [CpuForecast with { Metric = "latency_ms" }]),
        new TopologyReplies.LinkNotFound("edge-1", "cloud-9"),
        new ProjectionCheckpoint(1234),
        new AppReplies.AppView("ar-1", "ar", AppLifecycle.Decomposed, "{}", null, [new AppTransition(AppLifecycle.Decomposed, At, "edge: 1 subtask(s)")]),
        new ReservationCommands.ReserveCapacity("edge-1", "ar-1:r1", "ar-1", [Demand], TimeSpan.FromSeconds(30)),
        new ReservationCommands.CommitReservation("edge-1", "ar-1:r1"),
        new ReservationCommands.AbortReservation("edge-1", "ar-1:r1"),
        new ReservationCommands.ReleaseCapacity("edge-1", "ar-1", ["s1"]),
        new ReservationCommands.GetNodeCapacity("edge-1"),
        new ReservationReplies.ReservationGranted("edge-1", "ar-1:r1", new Resources(6, 28, 190, 1)),
        new ReservationReplies.ReservationRefused("edge-1", "ar-1:r1", "not enough", new Resources(1, 2, 3, 0)),
        new ReservationReplies.ReservationCommitted("edge-1", "ar-1:r1"),
        new ReservationReplies.ReservationAborted("edge-1", "ar-1:r1"),
        new ReservationReplies.CapacityReleaseDone("edge-1", "ar-1"),
        new ReservationReplies.NodeCapacityView("edge-1", true, new Resources(8, 32, 200, 1), Demand.Demand, Resources.Zero,
            new Resources(6, 28, 190, 1), [new CapacityAllocation("ar-1", "s1", "ar-1:r1", Demand.Demand)],
            [new CapacityReservation("ar-1:r2", "ar-2", [Demand], At)]),
        new ReservationEvents.CapacityReserved("edge-1", "ar-1:r1", "ar-1", [Demand], At.AddSeconds(30), At),
        new ReservationEvents.CapacityCommitted("edge-1", "ar-1:r1", At),
        new ReservationEvents.ReservationReleased("edge-1", "ar-1:r1", "expired", At),
        new ReservationEvents.CapacityReleased("edge-1", "ar-1", [], At),
        new AppSchedulingCommands.AcknowledgeDeployment("ar-1", "ar-1:r1", "s1", "edge-1", false, "image pull failed"),
        new AppSchedulingCommands.GetAppPlan("ar-1"),
        new AppSchedulingReplies.DeploymentAckRecorded("ar-1", "s1", "deployed"),
        new AppSchedulingReplies.AppPlanView("ar-1", AppLifecycle.Deploying, Decision, "ar-1:r1", ["s1"], 0,
            [new AppTransition(AppLifecycle.Planned, At, "placed")]),
        new AppSchedulingEvents.PlacementDecided("ar-1", "ar-1:r1", Decision, ["edge-1"], "placed", At),
        new AppSchedulingEvents.DeploymentStarted("ar-1", "ar-1:r1", At),
        new AppSchedulingEvents.SubtaskDeployed("ar-1", "ar-1:r1", "s1", "edge-1", At),
        new AppSchedulingEvents.SubtaskDeploymentFailed("ar-1", "ar-1:r1", ["s1"], ["edge-1"], "no acknowledgement within 60 s", At),
        new AppSchedulingEvents.AppRunning("ar-1", "ar-1:r1", At),
        Swapped,
        new GetPolicyEvolution(),
        new PolicyEvolutionView("model placement-drl.evolved-3.bin", 120, 96, 3, false, -4.25, -3.5, "swapped in the fine-tuned model", [Swapped]),
        new AppAdjustmentCommands.AdjustApp("ar-1", "link-drifted edge-1|edge-2 latency_ms up", "a constraint is broken", [Move], Decision, 0.4, 0.35),
        new AppAdjustmentCommands.ReportDegradation("ar-1", "node-went-down edge-1", "NodeCapacity", "s1", "no node has 2 cores free"),
        new AppAdjustmentCommands.ClearDegradation("ar-1", "re-placed"),
        new AppAdjustmentCommands.GetAdjustmentView("ar-1"),
        new AppAdjustmentReplies.AdjustmentAnswer("ar-1", "started"),
        new ReschedulerProtocol.ReviewNow("periodic check"),
        new ReschedulerProtocol.ReviewDone("link-drifted edge-1|edge-2 latency_ms up", 1, 0),
        new ReschedulerProtocol.GetReschedulerStatus(),
        new ReschedulerProtocol.ReschedulerStatus(42, 3, 1, 0, "periodic check"),
        new AppAdjustmentReplies.AdjustmentView("ar-1", AppLifecycle.Adjusting, "{}", null, Decision,
            new AppMigrationState("ar-1:m1", "periodic check", [Move], Decision, MigrationStep.Reserved, ["s1"]),
            new AppDegradation("periodic check", "TransferDelay", "s1", "no route fast enough", At)),
        new AppAdjustmentEvents.AppRescheduled("ar-1", "ar-1:m1", "node-went-down edge-1", "a constraint is broken", [Move], Decision, 0.4, 0.35, At),
        new AppAdjustmentEvents.MigrationReserved("ar-1", "ar-1:m1", At),
        new AppAdjustmentEvents.MigrationSubtaskDeployed("ar-1", "ar-1:m1", "s1", "edge-2", At),
        new AppAdjustmentEvents.MigrationTrafficSwitched("ar-1", "ar-1:m1", At),
        new AppAdjustmentEvents.MigrationCompleted("ar-1", "ar-1:m1", At),
        new AppAdjustmentEvents.MigrationRolledBack("ar-1", "ar-1:m1", "no answer within 60 s at step Reserved", At),
        new AppAdjustmentEvents.AppDegraded("ar-1", "node-went-down edge-1", "NodeCapacity", "s1", "no node has 2 cores free", At),
        new AppAdjustmentEvents.AppDegradationCleared("ar-1", "re-placed", At),
    ];



    [Fact]
    public void Every_known_type_has_a_sample()
    {
        Samples.Select(s => s.GetType()).ToHashSet().SetEquals(ComputeNetSerializer.KnownTypes).ShouldBeTrue();
    }

    [Fact]
    public void Every_message_event_and_snapshot_round_trips_to_an_equal_value()
    {
        var serializer = new ComputeNetSerializer((ExtendedActorSystem)_system);
        foreach (var sample in Samples)
        {
            var manifest = serializer.Manifest(sample);
            var copy = serializer.FromBinary(serializer.ToBinary(sample), manifest);
            copy.ShouldBe(sample, $"round trip of {sample.GetType().Name}");
            serializer.ToBinary(copy).ShouldBe(serializer.ToBinary(sample), $"re-serialised {sample.GetType().Name}");
        }
    }

    [Fact]
    public void Manifests_are_stable_strings_not_type_names()
    {
        var serializer = new ComputeNetSerializer((ExtendedActorSystem)_system);
        serializer.Manifest(new NodeEvents.NodeRegistered(Spec, Agent, At)).ShouldBe("node-registered");
        serializer.Manifest(new NodeState("x", NodeLifecycle.Unregistered, null, null, At, At, 0)).ShouldBe("node-state");
        Should.Throw<System.Runtime.Serialization.SerializationException>(() => serializer.Manifest("not ours"));
    }
}
