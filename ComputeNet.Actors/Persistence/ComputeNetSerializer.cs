using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;

namespace ComputeNet.Actors.Persistence;

/// <summary>
/// Serialises every ComputeNet message, event and snapshot as System.Text.Json with a short, stable
/// manifest per type, so renaming a CLR type never breaks recovery. A type missing from
/// <see cref="Manifests"/> fails loudly instead of falling back to reflection-based JSON.
/// </summary>
public sealed class ComputeNetSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4711;

    /// <summary>Manifests are part of the journal's schema: never change or reuse one.</summary>
    private static readonly FrozenDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        [typeof(NodeEvents.NodeRegistered)] = "node-registered",
        [typeof(NodeEvents.NodeUpdated)] = "node-updated",
        [typeof(NodeEvents.NodeDeregistered)] = "node-deregistered",
        [typeof(NodeState)] = "node-state",
        [typeof(NodeTelemetryCheckpointed)] = "node-telemetry-checkpoint",
        [typeof(NodeTelemetryJournalState)] = "node-telemetry-journal-state",
        [typeof(NodeCommands.RegisterNode)] = "node-register",
        [typeof(NodeCommands.DeregisterNode)] = "node-deregister",
        [typeof(NodeCommands.WakeUp)] = "node-wake-up",
        [typeof(NodeQueries.GetNode)] = "node-get",
        [typeof(NodeReplies.RegistrationAccepted)] = "node-registration-accepted",
        [typeof(NodeReplies.DeregistrationAccepted)] = "node-deregistration-accepted",
        [typeof(NodeReplies.NodeView)] = "node-view",
        [typeof(NodeReplies.NodeNotFound)] = "node-not-found",
        [typeof(NodeEvents.NodeWentDown)] = "node-went-down",
        [typeof(NodeEvents.NodeCameUp)] = "node-came-up",
        [typeof(NodeCommands.RecordNodeTelemetry)] = "node-record-telemetry",
        [typeof(NodeCommands.CheckpointTelemetry)] = "node-checkpoint-telemetry",
        [typeof(NodeCommands.AuthenticateAgent)] = "node-authenticate-agent",
        [typeof(NodeQueries.GetNodeTelemetry)] = "node-get-telemetry",
        [typeof(NodeReplies.NodeTelemetryRecorded)] = "node-telemetry-recorded",
        [typeof(NodeReplies.TelemetryCheckpointed)] = "node-telemetry-checkpointed",
        [typeof(NodeReplies.AgentAuthentication)] = "node-agent-authentication",
        [typeof(NodeReplies.NodeTelemetryView)] = "node-telemetry-view",
        [typeof(TopologyEvents.LinkWentDown)] = "link-went-down",
        [typeof(TopologyEvents.LinkCameUp)] = "link-came-up",
        [typeof(TopologySnapshot)] = "topology-snapshot",
        [typeof(TopologyCommands.RecordLinkTelemetry)] = "topology-record-link-telemetry",
        [typeof(TopologyCommands.CheckpointTopology)] = "topology-checkpoint",
        [typeof(TopologyQueries.GetTopology)] = "topology-get",
        [typeof(TopologyQueries.GetPath)] = "topology-get-path",
        [typeof(TopologyReplies.LinkTelemetryRecorded)] = "topology-link-telemetry-recorded",
        [typeof(TopologyReplies.TopologyCheckpointed)] = "topology-checkpointed",
        [typeof(TopologyReplies.LinkView)] = "topology-link-view",
        [typeof(TopologyReplies.TopologyView)] = "topology-view",
        [typeof(TopologyReplies.PathView)] = "topology-path-view",
        [typeof(AppEvents.AppSubmitted)] = "app-submitted",
        [typeof(AppEvents.AppDecomposed)] = "app-decomposed",
        [typeof(AppEvents.AppRejected)] = "app-rejected",
        [typeof(AppEvents.AppStopped)] = "app-stopped",
        [typeof(AppState)] = "app-state",
        [typeof(AppCommands.SubmitApp)] = "app-submit",
        [typeof(AppCommands.StopApp)] = "app-stop",
        [typeof(AppQueries.GetApp)] = "app-get",
        [typeof(AppReplies.AppAccepted)] = "app-accepted",
        [typeof(AppReplies.AppCommandRefused)] = "app-command-refused",
        [typeof(AppReplies.AppNotFound)] = "app-not-found",
        [typeof(AppReplies.AppView)] = "app-view",
        [typeof(NodeEvents.NodeDrifted)] = "node-drifted",
        [typeof(NodeQueries.GetNodeForecast)] = "node-get-forecast",
        [typeof(NodeReplies.NodeForecastView)] = "node-forecast-view",
        [typeof(TopologyEvents.LinkDrifted)] = "link-drifted",
        [typeof(TopologyQueries.GetLinkForecast)] = "topology-get-link-forecast",
        [typeof(TopologyReplies.LinkForecastView)] = "topology-link-forecast-view",
        [typeof(TopologyReplies.LinkNotFound)] = "topology-link-not-found",
        [typeof(ProjectionCheckpoint)] = "projection-checkpoint",
        // Reservations (资源分配/预留) and scheduling
        [typeof(ReservationCommands.ReserveCapacity)] = "node-reserve-capacity",
        [typeof(ReservationCommands.CommitReservation)] = "node-commit-reservation",
        [typeof(ReservationCommands.AbortReservation)] = "node-abort-reservation",
        [typeof(ReservationCommands.ReleaseCapacity)] = "node-release-capacity",
        [typeof(ReservationCommands.GetNodeCapacity)] = "node-get-capacity",
        [typeof(ReservationReplies.ReservationGranted)] = "node-reservation-granted",
        [typeof(ReservationReplies.ReservationRefused)] = "node-reservation-refused",
        [typeof(ReservationReplies.ReservationCommitted)] = "node-reservation-committed",
        [typeof(ReservationReplies.ReservationAborted)] = "node-reservation-aborted",
        [typeof(ReservationReplies.CapacityReleaseDone)] = "node-capacity-release-done",
        [typeof(ReservationReplies.NodeCapacityView)] = "node-capacity-view",
        [typeof(ReservationEvents.CapacityReserved)] = "node-capacity-reserved",
        [typeof(ReservationEvents.CapacityCommitted)] = "node-capacity-committed",
        [typeof(ReservationEvents.ReservationReleased)] = "node-reservation-released",
        [typeof(ReservationEvents.CapacityReleased)] = "node-capacity-released",
        [typeof(AppSchedulingCommands.AcknowledgeDeployment)] = "app-acknowledge-deployment",
        [typeof(AppSchedulingCommands.GetAppPlan)] = "app-get-plan",
        [typeof(AppSchedulingReplies.DeploymentAckRecorded)] = "app-deployment-ack-recorded",
        [typeof(AppSchedulingReplies.AppPlanView)] = "app-plan-view",
        [typeof(AppSchedulingEvents.PlacementDecided)] = "app-placement-decided",
        [typeof(AppSchedulingEvents.DeploymentStarted)] = "app-deployment-started",
        [typeof(AppSchedulingEvents.SubtaskDeployed)] = "app-subtask-deployed",
        [typeof(AppSchedulingEvents.SubtaskDeploymentFailed)] = "app-subtask-deployment-failed",
        [typeof(AppSchedulingEvents.AppRunning)] = "app-running",
        // The learned policy's self-evolving mode
        [typeof(Scheduling.DrlModelSwapped)] = "drl-model-swapped",
        [typeof(Scheduling.GetPolicyEvolution)] = "drl-get-policy-evolution",
        [typeof(Scheduling.PolicyEvolutionView)] = "drl-policy-evolution-view",
        // Runtime adjustment (运行调整)
        [typeof(AppAdjustmentCommands.AdjustApp)] = "app-adjust",
        [typeof(AppAdjustmentCommands.ReportDegradation)] = "app-report-degradation",
        [typeof(AppAdjustmentCommands.ClearDegradation)] = "app-clear-degradation",
        [typeof(AppAdjustmentCommands.GetAdjustmentView)] = "app-get-adjustment-view",
        [typeof(AppAdjustmentReplies.AdjustmentAnswer)] = "app-adjustment-answer",
        [typeof(AppAdjustmentReplies.AdjustmentView)] = "app-adjustment-view",
        [typeof(AppAdjustmentEvents.AppRescheduled)] = "app-rescheduled",
        [typeof(AppAdjustmentEvents.MigrationReserved)] = "app-migration-reserved",
        [typeof(AppAdjustmentEvents.MigrationSubtaskDeployed)] = "app-migration-subtask-deployed",
        [typeof(AppAdjustmentEvents.MigrationTrafficSwitched)] = "app-migration-traffic-switched",
        [typeof(AppAdjustmentEvents.MigrationCompleted)] = "app-migration-completed",
        [typeof(AppAdjustmentEvents.MigrationRolledBack)] = "app-migration-rolled-back",
        [typeof(AppAdjustmentEvents.AppDegraded)] = "app-degraded",
        [typeof(AppAdjustmentEvents.AppDegradationCleared)] = "app-degradation-cleared",
        [typeof(Scheduling.ReschedulerProtocol.ReviewNow)] = "rescheduler-review-now",
        [typeof(Scheduling.ReschedulerProtocol.ReviewDone)] = "rescheduler-review-done",
        [typeof(Scheduling.ReschedulerProtocol.GetReschedulerStatus)] = "rescheduler-get-status",
        [typeof(Scheduling.ReschedulerProtocol.ReschedulerStatus)] = "rescheduler-status",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Type> TypesByManifest =
        Manifests.ToFrozenDictionary(pair => pair.Value, pair => pair.Key);

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public override int Identifier => Id;

    /// <summary>Every type this serializer owns; the round-trip tests walk this list.</summary>
    public static IReadOnlyCollection<Type> KnownTypes => Manifests.Keys;

    public override string Manifest(object o) => ManifestOf(o);

    /// <summary>The stable type name of a message (also the "type" of events published on Kafka).</summary>
    public static string ManifestOf(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"{o.GetType().FullName} has no manifest in {nameof(ComputeNetSerializer)}");

    public override byte[] ToBinary(object obj)
    {
        Manifest(obj);
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), JsonOptions);
    }

    public override object FromBinary(byte[] bytes, string manifest) =>
        TypesByManifest.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, JsonOptions)
              ?? throw new SerializationException($"'{manifest}' deserialised to null")
            : throw new SerializationException($"Unknown manifest '{manifest}'");
}
