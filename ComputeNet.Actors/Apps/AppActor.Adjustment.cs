using Akka.Actor;
using Akka.Event;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Scheduling;
using static ComputeNet.Actors.Apps.AppAdjustmentCommands;
using static ComputeNet.Actors.Apps.AppAdjustmentEvents;
using static ComputeNet.Actors.Apps.AppAdjustmentReplies;
using static ComputeNet.Actors.Apps.AppSchedulingCommands;
using static ComputeNet.Actors.Apps.AppSchedulingReplies;
using static ComputeNet.Actors.Scheduling.DeploymentProtocol;

namespace ComputeNet.Actors.Apps;

/// <summary>
/// 运行调整, make-before-break: Running → Adjusting (<see cref="AppRescheduled"/>) → reserve on the new nodes
/// (<see cref="MigrationReserved"/>), commit, deploy there and wait for the acks (<see cref="MigrationSubtaskDeployed"/>),
/// switch the peers (<see cref="MigrationTrafficSwitched"/>), stop the old instances and release their capacity
/// (<see cref="MigrationCompleted"/>, Running). A refusal, a failed ack or a step without answer within the ack timeout
/// before the switch rolls back: the new reservations and allocations are released and the new instances stopped
/// (<see cref="MigrationRolledBack"/>). A restart resumes at the persisted step (every step is idempotent).
/// </summary>
public sealed partial class AppActor
{
    private sealed record MigrationStepDone(string MigrationId, MigrationStep Step, IReadOnlyList<string> Failures);
    private sealed record MigrationTimeout(string MigrationId);
    private sealed record RollbackReleased(string MigrationId, string Reason);
    private sealed record RollbackNotReleased(string MigrationId, string Reason, Exception Cause);

    private const string MigrationTimer = "migration";
    private readonly HashSet<string> _pendingSwitches = new(StringComparer.Ordinal);
    private bool _rollingBack;

    private void RegisterAdjustmentHandlers()
    {
        Command<AdjustApp>(Handle);
        Command<ReportDegradation>(Handle);
        Command<ClearDegradation>(Handle);
        Command<GetAdjustmentView>(_ => Sender.Tell(_state.Exists
            ? new AdjustmentView(_state.AppId, _state.Lifecycle, _state.SpecJson!, _state.DecompositionJson, Placement.Decision, _state.Migration, _state.Degradation)
            : new AppReplies.AppNotFound(_state.AppId)));
        Command<MigrationStepDone>(OnMigrationStepDone);
        Command<MigrationTimeout>(OnMigrationTimeout);
        Command<RollbackNotReleased>(failed =>
        {
            // The nodes did not answer: roll back again (everything in it is idempotent).
            _log.Warning(failed.Cause, "Rolling back migration {0} of {1} reached not every node; retrying", failed.MigrationId, _state.AppId);
            _rollingBack = false;
            if (_state.Migration is { } migration && migration.MigrationId == failed.MigrationId) RollBack(migration, failed.Reason);
        });
        Command<RollbackReleased>(released =>
        {
            if (_state.Migration?.MigrationId != released.MigrationId) return;
            Persist(new MigrationRolledBack(_state.AppId, released.MigrationId, released.Reason, _clock.GetUtcNow()), rolledBack =>
            {
                _rollingBack = false;
                Apply(rolledBack);
            });
        });
    }

    private void Handle(AdjustApp command)
    {
        var refusal = _scheduling is null ? "this member does not schedule"
            : _state.Lifecycle != AppLifecycle.Running ? $"the app is {_state.Lifecycle}, not Running"
            : command.Moves.Count == 0 ? "nothing to move"
            : command.Moves.FirstOrDefault(m => Placement.Decision?.For(m.SubtaskId)?.NodeId != m.FromNodeId) is { } stale
                ? $"subtask '{stale.SubtaskId}' is not on '{stale.FromNodeId}' (the plan is stale)"
                : null;
        if (refusal is not null)
        {
            Sender.Tell(new AdjustmentAnswer(command.AppId, $"refused: {refusal}"));
            return;
        }

        var sender = Sender;
        var migrationId = $"{_state.AppId}:m{Guid.NewGuid().ToString("N")[..10]}";
        Persist(new AppRescheduled(_state.AppId, migrationId, command.Trigger, command.Reason, command.Moves, command.NewDecision,
            command.ObjectiveBefore, command.ObjectiveAfter, _clock.GetUtcNow()), rescheduled =>
        {
            Apply(rescheduled);
            sender.Tell(new AdjustmentAnswer(command.AppId, "started"));
            ContinueMigration();
        });
    }

    private void Handle(ReportDegradation report)
    {
        if (_state.Lifecycle is not (AppLifecycle.Running or AppLifecycle.Adjusting)
            || _state.Degradation is { } known && known.Constraint == report.Constraint && known.SubtaskId == report.SubtaskId)
        {
            Sender.Tell(new AdjustmentAnswer(report.AppId, "unchanged"));
            return;
        }
        var sender = Sender;
        Persist(new AppDegraded(report.AppId, report.Trigger, report.Constraint, report.SubtaskId, report.Reason, _clock.GetUtcNow()), degraded =>
        {
            Apply(degraded);
            sender.Tell(new AdjustmentAnswer(report.AppId, "recorded"));
        });
    }

    private void Handle(ClearDegradation clear)
    {
        if (_state.Degradation is null)
        {
            Sender.Tell(new AdjustmentAnswer(clear.AppId, "unchanged"));
            return;
        }
        var sender = Sender;
        Persist(new AppDegradationCleared(clear.AppId, clear.Reason, _clock.GetUtcNow()), cleared =>
        {
            Apply(cleared);
            sender.Tell(new AdjustmentAnswer(clear.AppId, "recorded"));
        });
    }

    /// <summary>Carries the migration on from its persisted step (after a decision, a step, or recovery).</summary>
    private void ContinueMigration()
    {
        if (_scheduling is null || _state.Migration is not { } migration || _rollingBack) return;
        Timers.StartSingleTimer(MigrationTimer, new MigrationTimeout(migration.MigrationId), _scheduling.Settings.Ack);
        switch (migration.Step)
        {
            case MigrationStep.Started:
                ReserveTargets(migration);
                break;
            case MigrationStep.Reserved:
                CommitTargets(migration);
                break;
            case MigrationStep.Switched:
                StopOldInstances(migration);
                break;
        }
    }

    private void ReserveTargets(AppMigrationState migration)
    {
        var region = _scheduling!.NodeRegion;
        var ttl = _scheduling.Settings.Ack;
        AskAll(migration, MigrationStep.Started, migration.Moves.GroupBy(m => m.ToNodeId, StringComparer.Ordinal),
            group => region.Ask<object>(new ReservationCommands.ReserveCapacity(group.Key, migration.MigrationId, _state.AppId,
                [.. group.Select(m => new SubtaskDemand(m.SubtaskId, m.Demand))], ttl), _scheduling.Settings.Timeout),
            reply => reply is ReservationReplies.ReservationGranted ? null : Describe(reply));
    }

    private void CommitTargets(AppMigrationState migration)
    {
        var region = _scheduling!.NodeRegion;
        AskAll(migration, MigrationStep.Reserved, migration.TargetNodes,
            node => region.Ask<object>(new ReservationCommands.CommitReservation(node, migration.MigrationId), _scheduling.Settings.Timeout),
            reply => reply is ReservationReplies.ReservationCommitted ? null : Describe(reply));
    }

    private void StopOldInstances(AppMigrationState migration)
    {
        var region = _scheduling!.NodeRegion;
        _scheduling.AgentOutbox.Tell(new PublishRemovals(_state.AppId, [.. migration.Moves.Select(m =>
            new SubtaskRemoval(m.FromNodeId, _state.AppId, m.SubtaskId, $"moved to '{m.ToNodeId}' (migration {migration.MigrationId})")
            {
                MigrationId = migration.MigrationId,
            })]));
        AskAll(migration, MigrationStep.Switched, migration.Moves.GroupBy(m => m.FromNodeId, StringComparer.Ordinal),
            group => region.Ask<object>(new ReservationCommands.ReleaseCapacity(group.Key, _state.AppId, [.. group.Select(m => m.SubtaskId)]),
                _scheduling.Settings.Timeout),
            reply => reply is ReservationReplies.CapacityReleaseDone ? null : Describe(reply));
    }

    /// <summary>Asks every target, gathers what went wrong (null = fine), and reports the step's outcome to the actor.</summary>
    private void AskAll<T>(AppMigrationState migration, MigrationStep step, IEnumerable<T> targets, Func<T, Task<object>> ask, Func<object, string?> failure) =>
        Task.WhenAll(targets.Select(async target =>
            {
                try
                {
                    return failure(await ask(target));
                }
                catch (Exception e)
                {
                    return $"no answer: {e.Message}";
                }
            }))
            .PipeTo(Self, success: replies => new MigrationStepDone(migration.MigrationId, step, [.. replies.OfType<string>()]));

    private static string Describe(object reply) => reply switch
    {
        ReservationReplies.ReservationRefused refused => refused.Reason,
        NodeReplies.NodeNotFound missing => $"node '{missing.NodeId}' is not registered",
        _ => $"unexpected answer {reply.GetType().Name}",
    };

    private void OnMigrationStepDone(MigrationStepDone done)
    {
        if (_state.Migration is not { } migration || migration.MigrationId != done.MigrationId || migration.Step != done.Step || _rollingBack) return;
        if (done.Failures.Count > 0)
        {
            if (done.Step == MigrationStep.Switched)
            {
                // After the switch there is no way back: keep releasing the old instances until the nodes answer.
                _log.Warning("Releasing the old instances of {0} failed ({1}); retrying", _state.AppId, string.Join("; ", done.Failures));
                Timers.StartSingleTimer(MigrationTimer, new MigrationTimeout(migration.MigrationId), TimeSpan.FromSeconds(2));
                return;
            }
            RollBack(migration, string.Join("; ", done.Failures));
            return;
        }
        switch (done.Step)
        {
            case MigrationStep.Started:
                Persist(new MigrationReserved(_state.AppId, migration.MigrationId, _clock.GetUtcNow()), reserved =>
                {
                    Apply(reserved);
                    CommitTargets(_state.Migration!);
                });
                break;
            case MigrationStep.Reserved:
                DeployNewInstances(migration);
                break;
            case MigrationStep.Switched:
                Timers.Cancel(MigrationTimer);
                Persist(new MigrationCompleted(_state.AppId, migration.MigrationId, _clock.GetUtcNow()), Apply);
                break;
        }
    }

    private void DeployNewInstances(AppMigrationState migration)
    {
        var pending = migration.Moves.Where(m => !migration.Deployed.Contains(m.SubtaskId)).ToList();
        if (pending.Count == 0)
        {
            SwitchTraffic(migration);
            return;
        }
        Request(); // parses the spec and decomposition the commands are built from
        _scheduling!.AgentOutbox.Tell(new PublishDeployments(_state.AppId, migration.MigrationId,
            [.. pending.Select(m => Deployment(migration.NewDecision.For(m.SubtaskId)!, migration.MigrationId, migration.NewDecision))]));
    }

    private void SwitchTraffic(AppMigrationState migration)
    {
        Request();
        var moved = migration.Moves.ToDictionary(m => m.SubtaskId, StringComparer.Ordinal);
        var switches = migration.NewDecision.Subtasks
            .Where(s => !moved.ContainsKey(s.SubtaskId))
            .Select(s => (Subtask: s, Peers: PeersOf(s.SubtaskId, migration.NewDecision).Where(p => moved.ContainsKey(p.SubtaskId)).ToList()))
            .Where(s => s.Peers.Count > 0)
            .Select(s => new TrafficSwitch(s.Subtask.NodeId, _state.AppId, migration.MigrationId, s.Subtask.SubtaskId, s.Peers))
            .ToList();
        _pendingSwitches.Clear();
        if (switches.Count == 0)
        {
            PersistSwitched(migration);
            return;
        }
        foreach (var s in switches) _pendingSwitches.Add(s.SubtaskId);
        _scheduling!.AgentOutbox.Tell(new PublishSwitches(_state.AppId, migration.MigrationId, switches));
    }

    private void PersistSwitched(AppMigrationState migration) =>
        Persist(new MigrationTrafficSwitched(_state.AppId, migration.MigrationId, _clock.GetUtcNow()), switched =>
        {
            Apply(switched);
            ContinueMigration();
        });

    /// <summary>An agent's answer about a migration's command; false when the ack is not about the current migration.</summary>
    private bool HandleMigrationAck(AcknowledgeDeployment ack)
    {
        if (ack.Command == AgentCommandKinds.Stop)
        {
            Sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "stopped"));
            return true;
        }
        if (_state.Migration is not { } migration || ack.DeploymentId != migration.MigrationId) return false;
        var sender = Sender;
        var expected = ack.Command switch
        {
            AgentCommandKinds.Deploy => migration.Step == MigrationStep.Reserved
                                        && migration.Moves.Any(m => m.SubtaskId == ack.SubtaskId && m.ToNodeId == ack.NodeId),
            AgentCommandKinds.SwitchTraffic => migration.Step == MigrationStep.Reserved && _pendingSwitches.Contains(ack.SubtaskId)
                                               && migration.NewDecision.For(ack.SubtaskId)?.NodeId == ack.NodeId,
            _ => false,
        };
        if (!expected || _rollingBack)
        {
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId,
                migration.Deployed.Contains(ack.SubtaskId) || migration.Step == MigrationStep.Switched ? "duplicate"
                : $"ignored: migration '{migration.MigrationId}' does not wait for {ack.Command} of '{ack.SubtaskId}' on '{ack.NodeId}'"));
            return true;
        }
        if (!ack.Succeeded)
        {
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "failed"));
            RollBack(migration, $"the agent of '{ack.NodeId}' reported {ack.Command} failed: {ack.Reason ?? "no reason given"}");
            return true;
        }
        if (ack.Command == AgentCommandKinds.SwitchTraffic)
        {
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "switched"));
            if (_pendingSwitches.Remove(ack.SubtaskId) && _pendingSwitches.Count == 0) PersistSwitched(migration);
            return true;
        }
        if (migration.Deployed.Contains(ack.SubtaskId))
        {
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "duplicate"));
            return true;
        }
        Persist(new MigrationSubtaskDeployed(ack.AppId, migration.MigrationId, ack.SubtaskId, ack.NodeId, _clock.GetUtcNow()), deployed =>
        {
            Apply(deployed);
            sender.Tell(new DeploymentAckRecorded(ack.AppId, ack.SubtaskId, "deployed"));
            var current = _state.Migration!;
            if (current.Moves.All(m => current.Deployed.Contains(m.SubtaskId))) SwitchTraffic(current);
        });
        return true;
    }

    private void OnMigrationTimeout(MigrationTimeout timeout)
    {
        if (_state.Migration is not { } migration || migration.MigrationId != timeout.MigrationId || _rollingBack) return;
        if (migration.Step == MigrationStep.Switched)
        {
            ContinueMigration();
            return;
        }
        RollBack(migration, $"no answer within {_scheduling!.Settings.Ack.TotalSeconds:0.#} s at step {migration.Step}");
    }

    /// <summary>
    /// Before the switch: give back what the new nodes hold for this migration, stop the new instances and point any
    /// peer that already switched back at the old ones; the old placement never stopped serving.
    /// </summary>
    private void RollBack(AppMigrationState migration, string reason)
    {
        _rollingBack = true;
        Timers.Cancel(MigrationTimer);
        _log.Warning("Migration {0} of {1} rolls back: {2}", migration.MigrationId, _state.AppId, reason);
        var deploysSent = migration.Step == MigrationStep.Reserved;
        if (deploysSent)
        {
            _scheduling!.AgentOutbox.Tell(new PublishRemovals(_state.AppId, [.. migration.Moves.Select(m =>
                new SubtaskRemoval(m.ToNodeId, _state.AppId, m.SubtaskId, $"migration {migration.MigrationId} rolled back") { MigrationId = migration.MigrationId })]));
            var old = Placement.Decision!;
            var moved = migration.Moves.Select(m => m.SubtaskId).ToHashSet(StringComparer.Ordinal);
            var switchBack = old.Subtasks
                .Where(s => !moved.Contains(s.SubtaskId))
                .Select(s => (Subtask: s, Peers: PeersOf(s.SubtaskId, old).Where(p => moved.Contains(p.SubtaskId)).ToList()))
                .Where(s => s.Peers.Count > 0)
                .Select(s => new TrafficSwitch(s.Subtask.NodeId, _state.AppId, migration.MigrationId, s.Subtask.SubtaskId, s.Peers))
                .ToList();
            if (switchBack.Count > 0) _scheduling.AgentOutbox.Tell(new PublishSwitches(_state.AppId, migration.MigrationId, switchBack));
        }
        _pendingSwitches.Clear();
        var region = _scheduling!.NodeRegion;
        var timeout = _scheduling.Settings.Timeout;
        var appId = _state.AppId;
        Task.WhenAll(migration.Moves.GroupBy(m => m.ToNodeId, StringComparer.Ordinal).Select(async group =>
            {
                await region.Ask<object>(new ReservationCommands.AbortReservation(group.Key, migration.MigrationId), timeout);
                await region.Ask<object>(new ReservationCommands.ReleaseCapacity(group.Key, appId, [.. group.Select(m => m.SubtaskId)]), timeout);
            }))
            .PipeTo(Self, success: () => new RollbackReleased(migration.MigrationId, reason),
                failure: e => new RollbackNotReleased(migration.MigrationId, reason, e));
    }
}
