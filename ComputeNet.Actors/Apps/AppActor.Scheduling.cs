using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Scheduling;
using static ComputeNet.Actors.Apps.AppEvents;
using static ComputeNet.Actors.Apps.AppSchedulingCommands;
using static ComputeNet.Actors.Apps.AppSchedulingEvents;
using static ComputeNet.Actors.Apps.AppSchedulingReplies;
using static ComputeNet.Actors.Scheduling.DeploymentProtocol;
using static ComputeNet.Actors.Scheduling.SchedulerProtocol;

namespace ComputeNet.Actors.Apps;

/// <param name="AckTimeout">how long agents have to acknowledge their deploy commands before those subtasks are re-placed.</param>
/// <param name="MaxReplacements">failed deployments re-placed before the app is rejected.</param>
/// <param name="Policy">placement policy; null = the scheduler's default.</param>
public sealed record AppSchedulingSettings(TimeSpan? AckTimeout = null, int MaxReplacements = 3, string? Policy = null, TimeSpan? AskTimeout = null)
{
    public TimeSpan Ack => AckTimeout ?? TimeSpan.FromSeconds(60);

    public TimeSpan Timeout => AskTimeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>Where an app finds its scheduler, the node shard region and the agent-command outbox.</summary>
public sealed record AppScheduling(IActorRef Scheduler, IActorRef NodeRegion, IActorRef AgentOutbox, AppSchedulingSettings Settings);

/// <summary>
/// Decomposed → Planned → Deploying → Running. The scheduler plans and reserves; the app persists the
/// decision, commits the reservations, sends deploy commands and waits for the agents' acks. Every step
/// is a persisted event, so a restart resumes where it stopped: a Planned app commits again (commits are
/// idempotent), a Deploying app re-sends the commands its agents have not acknowledged.
/// </summary>
public sealed partial class AppActor
{
    private sealed record CommitsDone(string ReservationId, IReadOnlyList<string> Refusals);
    private sealed record AckTimeout(string DeploymentId);
    private sealed record RetryPublish(string DeploymentId);

    private const string AckTimer = "ack";
    private readonly AppScheduling? _scheduling;
    private bool _planning;
    private (AppSpec Spec, MultiGranularityDecomposition Decomposition)? _parsed;

    public ITimerScheduler Timers { get; set; } = null!;

    private AppPlacementState Placement => _state.Placement;

    private void RegisterSchedulingHandlers()
    {
        Command<PlacementReserved>(OnReserved);
        Command<PlacementImpossible>(OnImpossible);
        Command<CommitsDone>(OnCommitsDone);
        Command<DeploymentsPublished>(_ => { });
        Command<DeploymentsNotPublished>(failed =>
        {
            _log.Warning("Deploy commands of {0} not published ({1}); retrying", _state.AppId, failed.Reason);
            Timers.StartSingleTimer("publish", new RetryPublish(failed.DeploymentId), TimeSpan.FromSeconds(2));
        });
        Command<RetryPublish>(retry =>
        {
            if (retry.DeploymentId == Placement.DeploymentId && _state.Lifecycle == AppLifecycle.Deploying) PublishUndeployed();
            else if (_state.Migration is { Step: MigrationStep.Reserved } migration && retry.DeploymentId == migration.MigrationId && !_rollingBack)
                DeployNewInstances(migration);
        });
        Command<AcknowledgeDeployment>(Handle);
        Command<AckTimeout>(OnAckTimeout);
        Command<GetAppPlan>(_ => Sender.Tell(_state.Exists
            ? new AppPlanView(_state.AppId, _state.Lifecycle, Placement.Decision, Placement.DeploymentId, Placement.Deployed,
                Placement.Replacements, _state.History)
            : new AppReplies.AppNotFound(_state.AppId)));
    }

    /// <summary>After recovery: carry on from the persisted step.</summary>
    private void ResumeScheduling()
    {
        if (_scheduling is null) return;
        switch (_state.Lifecycle)
        {
            case AppLifecycle.Decomposed:
                StartPlanning();
                break;
            case AppLifecycle.Planned when Placement.FailedSubtasks.Count > 0:
            case AppLifecycle.Deploying when Placement.FailedSubtasks.Count > 0:
                RequestReplacement();
                break;
            case AppLifecycle.Planned:
                CommitReservations();
                break;
            case AppLifecycle.Deploying:
                PublishUndeployed();
                break;
            case AppLifecycle.Adjusting:
                ContinueMigration();
                break;
            case AppLifecycle.Stopped or AppLifecycle.Rejected when Placement.Decision is not null:
                // The release may not have reached every node before the host stopped; releasing is idempotent.
                ReleaseCapacity(removals: false, reason: "");
                break;
        }
    }

    private void StartPlanning()
    {
        if (_scheduling is null || _planning || _state.Lifecycle != AppLifecycle.Decomposed) return;
        if (Request() is not { } request) return;
        _planning = true;
        _scheduling.Scheduler.Tell(new PlaceApp(request));
    }

    private PlanRequest? Request()
    {
        if (_parsed is null && _state.SpecJson is not null && _state.DecompositionJson is not null)
        {
            var spec = AppSpecValidator.Validate(_state.SpecJson, _settings.NodeClasses).Spec;
            var decomposition = JsonSerializer.Deserialize<MultiGranularityDecomposition>(_state.DecompositionJson, ComputeNetSerializer.JsonOptions);
            if (spec is not null && decomposition is not null) _parsed = (spec, decomposition);
        }
        if (_parsed is not { } parsed)
        {
            _log.Error("App {0}: its stored spec or decomposition cannot be read; it is not scheduled", _state.AppId);
            return null;
        }
        return new PlanRequest(_state.AppId, parsed.Spec, parsed.Decomposition, _scheduling!.Settings.Policy ?? "");
    }

    private void OnReserved(PlacementReserved reserved)
    {
        _planning = false;
        var replacing = Placement.FailedSubtasks.Count > 0;
        var wanted = replacing
            ? _state.Lifecycle is AppLifecycle.Planned or AppLifecycle.Deploying && Placement.FailedSubtasks.All(reserved.Replaced.Contains)
            : _state.Lifecycle == AppLifecycle.Decomposed && reserved.Replaced.Count == 0;
        if (!wanted)
        {
            foreach (var node in reserved.ReservedNodes)
                _scheduling!.NodeRegion.Tell(new ReservationCommands.AbortReservation(node, reserved.ReservationId));
            // More subtasks failed while this plan was made: plan them all together.
            if (replacing && _state.Lifecycle is AppLifecycle.Planned or AppLifecycle.Deploying) RequestReplacement();
            return;
        }

        var reason = replacing ? $"re-placed {string.Join(", ", reserved.Replaced)}" : "placed";
        Persist(new PlacementDecided(_state.AppId, reserved.ReservationId, reserved.Decision, reserved.ReservedNodes, reason, _clock.GetUtcNow()), decided =>
        {
            Apply(decided);
            CommitReservations();
        });
    }

    private void OnImpossible(PlacementImpossible impossible)
    {
        _planning = false;
        if (_state.Lifecycle is not (AppLifecycle.Decomposed or AppLifecycle.Planned or AppLifecycle.Deploying)) return;
        Persist(new AppRejected(_state.AppId, $"no placement: {impossible.Reason}", _clock.GetUtcNow()), rejected =>
        {
            Apply(rejected);
            ReleaseEverything("the app could not be placed");
        });
    }

    private void CommitReservations()
    {
        var reservationId = Placement.ReservationId!;
        var region = _scheduling!.NodeRegion;
        var timeout = _scheduling.Settings.Timeout;
        Task.WhenAll(Placement.ReservedNodes.Select(async node =>
            {
                try
                {
                    var reply = await region.Ask<object>(new ReservationCommands.CommitReservation(node, reservationId), timeout);
                    return reply is ReservationReplies.ReservationCommitted ? null
                        : reply is ReservationReplies.ReservationRefused refused ? refused.Reason
                        : $"node '{node}' answered {reply.GetType().Name}";
                }
                catch (Exception e)
                {
                    return $"no answer from node '{node}': {e.Message}";
                }
            }))
            .PipeTo(Self, success: replies => new CommitsDone(reservationId, [.. replies.OfType<string>()]));
    }

    private void OnCommitsDone(CommitsDone done)
    {
        // A commit that landed after the app stopped (or was rejected) must not keep its capacity.
        if (_state.Lifecycle is AppLifecycle.Stopped or AppLifecycle.Rejected)
        {
            ReleaseCapacity(removals: false, reason: "");
            return;
        }
        if (_state.Lifecycle != AppLifecycle.Planned || done.ReservationId != Placement.ReservationId || Placement.FailedSubtasks.Count > 0) return;
        if (done.Refusals.Count == 0)
        {
            Persist(new DeploymentStarted(_state.AppId, done.ReservationId, _clock.GetUtcNow()), started =>
            {
                Apply(started);
                PublishUndeployed();
            });
            return;
        }

        // A reservation expired before its commit: plan the subtasks it held again.
        var moved = Placement.Undeployed.Where(s => Placement.ReservedNodes.Contains(s.NodeId)).ToList();
        FailSubtasks(Placement.DeploymentId ?? done.ReservationId, moved, avoidNodes: false, $"commit refused: {string.Join("; ", done.Refusals)}");
    }

    private void PublishUndeployed()
    {
        var pending = Placement.Undeployed.ToList();
        var deploymentId = Placement.DeploymentId!;
        if (pending.Count == 0)
        {
            if (_state.Lifecycle == AppLifecycle.Deploying) Persist(new AppRunning(_state.AppId, deploymentId, _clock.GetUtcNow()), Apply);
            return;
        }
        var deployments = pending.Select(s => Deployment(s, deploymentId)).ToList();
        _scheduling!.AgentOutbox.Tell(new PublishDeployments(_state.AppId, deploymentId, deployments));
        Timers.StartSingleTimer(AckTimer, new AckTimeout(deploymentId), _scheduling.Settings.Ack);
    }

    private SubtaskDeployment Deployment(SubtaskPlacement placement, string deploymentId, PlacementDecision? decision = null)
    {
        var (spec, decomposition) = _parsed ?? (null!, null!);
        var cut = decomposition?.For((decision ?? Placement.Decision!).Granularity);
        var subtask = cut?.Subtasks.FirstOrDefault(s => s.Id == placement.SubtaskId);
        var components = subtask?.ComponentIds
            .Select(id => new ComponentImage(id, spec.FindComponent(id)?.Image ?? ""))
            .ToList() ?? [];
        return new SubtaskDeployment(placement.NodeId, _state.AppId, deploymentId, placement.SubtaskId, components, placement.Demand,
            PeersOf(placement.SubtaskId, decision ?? Placement.Decision!));
    }

    /// <summary>The subtasks a subtask exchanges data with, and where <paramref name="decision"/> runs them.</summary>
    private List<PeerEndpoint> PeersOf(string subtaskId, PlacementDecision decision) =>
        _parsed?.Decomposition.For(decision.Granularity)?.SubtaskEdges
            .Where(e => e.From == subtaskId || e.To == subtaskId)
            .Select(e => e.From == subtaskId ? e.To : e.From)
            .Distinct()
            .Select(peer => new PeerEndpoint(peer, decision.For(peer)?.NodeId ?? ""))
            .ToList() ?? [];

    private void Handle(AcknowledgeDeployment ack)
    {
        if (HandleMigrationAck(ack)) return;
        var ignored = _state.Lifecycle is not (AppLifecycle.Deploying or AppLifecycle.Running) || ack.DeploymentId != Placement.DeploymentId
            ? $"ignored: deployment '{ack.DeploymentId}' is not the app's current deployment"
            : Placement.Decision!.For(ack.SubtaskId) is not { } placement
                ? $"ignored: the app has no subtask '{ack.SubtaskId}'"
                : placement.NodeId != ack.NodeId
                    ? $"ignored: subtask '{ack.SubtaskId}' is placed on '{placement.NodeId}', not '{ack.NodeId}'"
                    : Placement.FailedSubtasks.Contains(ack.SubtaskId)
                        ? $"ignored: subtask '{ack.SubtaskId}' is being re-placed"
                        : null;
        if (ignored is not null)
        {
            Sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, ignored));
            return;
        }
        if (Placement.Deployed.Contains(ack.SubtaskId))
        {
            Sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "duplicate"));
            return;
        }

        var sender = Sender;
        if (!ack.Succeeded)
        {
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "failed"));
            FailSubtasks(ack.DeploymentId, [Placement.Decision!.For(ack.SubtaskId)!], avoidNodes: true,
                $"the agent of '{ack.NodeId}' reported: {ack.Reason ?? "deployment failed"}");
            return;
        }
        Persist(new SubtaskDeployed(ack.AppId, ack.DeploymentId, ack.SubtaskId, ack.NodeId, _clock.GetUtcNow()), deployed =>
        {
            Apply(deployed);
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "deployed"));
            if (_state.Lifecycle == AppLifecycle.Deploying && Placement.FailedSubtasks.Count == 0 && !Placement.Undeployed.Any())
            {
                Timers.Cancel(AckTimer);
                Persist(new AppRunning(_state.AppId, ack.DeploymentId, _clock.GetUtcNow()), Apply);
            }
        });
    }

    private void OnAckTimeout(AckTimeout timeout)
    {
        if (_state.Lifecycle != AppLifecycle.Deploying || timeout.DeploymentId != Placement.DeploymentId) return;
        var late = Placement.Undeployed.Where(s => !Placement.FailedSubtasks.Contains(s.SubtaskId)).ToList();
        if (late.Count == 0) return;
        FailSubtasks(timeout.DeploymentId, late, avoidNodes: true, $"no acknowledgement within {_scheduling!.Settings.Ack.TotalSeconds:0.#} s");
    }

    private void FailSubtasks(string deploymentId, IReadOnlyList<SubtaskPlacement> subtasks, bool avoidNodes, string reason)
    {
        Persist(new SubtaskDeploymentFailed(_state.AppId, deploymentId, [.. subtasks.Select(s => s.SubtaskId)],
            avoidNodes ? [.. subtasks.Select(s => s.NodeId).Distinct()] : [], reason, _clock.GetUtcNow()), failed =>
        {
            Apply(failed);
            RequestReplacement();
        });
    }

    /// <summary>运行调整 at deployment time: free the failed subtasks' capacity and place only them again, around the rest.</summary>
    private void RequestReplacement()
    {
        if (Placement.Replacements > _scheduling!.Settings.MaxReplacements)
        {
            Persist(new AppRejected(_state.AppId,
                $"deployment failed {Placement.Replacements} time(s); last: {_state.History[^1].Reason}", _clock.GetUtcNow()), rejected =>
            {
                Apply(rejected);
                ReleaseEverything("the app could not be deployed");
            });
            return;
        }

        var failed = Placement.Decision!.Subtasks.Where(s => Placement.FailedSubtasks.Contains(s.SubtaskId)).ToList();
        foreach (var group in failed.GroupBy(s => s.NodeId))
        {
            _scheduling.NodeRegion.Tell(new ReservationCommands.ReleaseCapacity(group.Key, _state.AppId, [.. group.Select(s => s.SubtaskId)]));
            _scheduling.NodeRegion.Tell(new ReservationCommands.AbortReservation(group.Key, Placement.ReservationId!));
        }
        _scheduling.AgentOutbox.Tell(new PublishRemovals(_state.AppId,
            [.. failed.Select(s => new SubtaskRemoval(s.NodeId, _state.AppId, s.SubtaskId, "re-placed after a failed deployment"))]));

        if (_planning || Request() is not { } request) return;
        _planning = true;
        _scheduling.Scheduler.Tell(new PlaceApp(request with
        {
            Current = Placement.Decision,
            Replace = Placement.FailedSubtasks,
            AvoidNodes = Placement.AvoidNodes,
        }));
    }

    /// <summary>Stopping (or rejecting) an app gives back everything it holds and tells the agents to stop its subtasks.</summary>
    private void ReleaseEverything(string reason)
    {
        Timers.CancelAll();
        ReleaseCapacity(removals: true, reason);
    }

    private void ReleaseCapacity(bool removals, string reason)
    {
        if (_scheduling is null || Placement.Decision is not { } decision) return;
        foreach (var node in decision.NodeIds.Union(Placement.ReservedNodes))
            _scheduling.NodeRegion.Tell(new ReservationCommands.ReleaseCapacity(node, _state.AppId, []));
        if (removals && Placement.DeploymentId is not null)
            _scheduling.AgentOutbox.Tell(new PublishRemovals(_state.AppId,
                [.. decision.Subtasks.Select(s => new SubtaskRemoval(s.NodeId, _state.AppId, s.SubtaskId, reason))]));
    }
}
