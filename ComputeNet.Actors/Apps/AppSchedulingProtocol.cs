using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Scheduling;

namespace ComputeNet.Actors.Apps;

// Planned → Deploying → Running: placement decisions, deployment through the agents and their acks.

public static class AppSchedulingCommands
{
    /// <summary>
    /// An agent's answer to a deploy command (from computenet.agent-acks). Answered with
    /// <see cref="AppSchedulingReplies.DeploymentAckRecorded"/>; acks of an older deployment are ignored.
    /// </summary>
    public sealed record AcknowledgeDeployment(string AppId, string DeploymentId, string SubtaskId, string NodeId, bool Succeeded, string? Reason)
        : IAppMessage, IComputeNetMessage
    {
        /// <summary>Which command is acknowledged (<see cref="AgentCommandKinds"/>): a deploy unless said otherwise.</summary>
        public string Command { get; init; } = AgentCommandKinds.Deploy;
    }

    /// <summary>Answered with <see cref="AppSchedulingReplies.AppPlanView"/> or <see cref="AppReplies.AppNotFound"/>.</summary>
    public sealed record GetAppPlan(string AppId) : IAppMessage, IComputeNetMessage;
}

public static class AppSchedulingReplies
{
    /// <param name="Outcome">"deployed", "failed", "duplicate" or "ignored: why".</param>
    public sealed record DeploymentAckRecorded(string AppId, string SubtaskId, string Outcome) : IComputeNetMessage;

    public sealed record AppPlanView(
        string AppId,
        AppLifecycle Lifecycle,
        PlacementDecision? Decision,
        string? DeploymentId,
        IReadOnlyList<string> DeployedSubtasks,
        int Replacements,
        IReadOnlyList<AppTransition> History) : IComputeNetMessage
    {
        public bool Equals(AppPlanView? other) =>
            other is not null && AppId == other.AppId && Lifecycle == other.Lifecycle && Equals(Decision, other.Decision)
            && DeploymentId == other.DeploymentId && DeployedSubtasks.SequenceEqual(other.DeployedSubtasks)
            && Replacements == other.Replacements && History.SequenceEqual(other.History);

        public override int GetHashCode() => HashCode.Combine(AppId, Lifecycle, DeploymentId);
    }
}

public static class AppSchedulingEvents
{
    /// <summary>
    /// The plan is chosen and reserved (lifecycle Planned): capacity is held under <paramref name="ReservationId"/> on
    /// <paramref name="ReservedNodes"/> until the app commits it. <paramref name="Reason"/> says why it was (re-)planned.
    /// </summary>
    public sealed record PlacementDecided(string AppId, string ReservationId, PlacementDecision Decision, IReadOnlyList<string> ReservedNodes,
        string Reason, DateTimeOffset At) : IAppEvent
    {
        public bool Equals(PlacementDecided? other) =>
            other is not null && AppId == other.AppId && ReservationId == other.ReservationId && Decision.Equals(other.Decision)
            && ReservedNodes.SequenceEqual(other.ReservedNodes) && Reason == other.Reason && At == other.At;

        public override int GetHashCode() => HashCode.Combine(AppId, ReservationId, At);
    }

    /// <summary>Every reservation is committed; deploy commands go out under <paramref name="DeploymentId"/> (lifecycle Deploying).</summary>
    public sealed record DeploymentStarted(string AppId, string DeploymentId, DateTimeOffset At) : IAppEvent;

    public sealed record SubtaskDeployed(string AppId, string DeploymentId, string SubtaskId, string NodeId, DateTimeOffset At) : IAppEvent;

    /// <summary>Deployment of these subtasks failed (a failed ack or no ack in time): they are re-placed away from <paramref name="NodeIds"/>.</summary>
    public sealed record SubtaskDeploymentFailed(string AppId, string DeploymentId, IReadOnlyList<string> SubtaskIds, IReadOnlyList<string> NodeIds,
        string Reason, DateTimeOffset At) : IAppEvent
    {
        public bool Equals(SubtaskDeploymentFailed? other) =>
            other is not null && AppId == other.AppId && DeploymentId == other.DeploymentId && SubtaskIds.SequenceEqual(other.SubtaskIds)
            && NodeIds.SequenceEqual(other.NodeIds) && Reason == other.Reason && At == other.At;

        public override int GetHashCode() => HashCode.Combine(AppId, DeploymentId, At);
    }

    /// <summary>Every subtask's agent acknowledged its deployment (lifecycle Running).</summary>
    public sealed record AppRunning(string AppId, string DeploymentId, DateTimeOffset At) : IAppEvent;
}
