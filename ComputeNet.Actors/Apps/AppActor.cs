using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Apps.AppCommands;
using static ComputeNet.Actors.Apps.AppEvents;
using static ComputeNet.Actors.Apps.AppReplies;

namespace ComputeNet.Actors.Apps;

public sealed record AppActorSettings(NodeClassCatalog NodeClasses, int SnapshotEvery = 100)
{
    public static AppActorSettings Default { get; } = new(NodeClassCatalog.Default);
}

/// <summary>
/// One application's event-sourced aggregate, sharded by app id. Accepts a validated spec, then
/// decomposes it (算力解构) at every granularity of the node classes it knows; a crash between the two
/// steps is healed on recovery.
/// </summary>
public sealed partial class AppActor : ReceivePersistentActor, IWithTimers
{
    private sealed record DecomposeNow;

    private readonly AppActorSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private AppState _state;

    public AppActor(string appId, AppActorSettings settings, TimeProvider clock, AppScheduling? scheduling = null)
    {
        _scheduling = scheduling;
        PersistenceId = PersistenceIds.App(appId);
        _settings = settings;
        _clock = clock;
        _state = AppState.Empty(appId);

        Recover<IAppEvent>(e => _state = _state.Apply(e));
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is AppState snapshot) _state = snapshot;
        });
        Recover<RecoveryCompleted>(_ =>
        {
            if (_state.Lifecycle == AppLifecycle.Submitted) Self.Tell(new DecomposeNow());
            else ResumeScheduling();
        });

        Command<SubmitApp>(Handle);
        Command<StopApp>(Handle);
        Command<DecomposeNow>(_ => Decompose());
        Command<AppQueries.GetApp>(_ => Sender.Tell(View()));
        Command<SaveSnapshotSuccess>(success => DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Snapshot of {0} failed", PersistenceId));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
        RegisterSchedulingHandlers();
        RegisterAdjustmentHandlers();
    }

    public override string PersistenceId { get; }

    public static Props Props(string appId, AppActorSettings settings, TimeProvider clock, AppScheduling? scheduling = null) =>
        Akka.Actor.Props.Create(() => new AppActor(appId, settings, clock, scheduling));

    private void Handle(SubmitApp command)
    {
        if (_state.Exists)
        {
            Sender.Tell(_state.SpecJson == command.SpecJson
                ? new AppAccepted(command.AppId, _state.Lifecycle)
                : new AppCommandRefused(command.AppId, $"app id '{command.AppId}' is already used by another spec"));
            return;
        }

        var validation = AppSpecValidator.Validate(command.SpecJson, _settings.NodeClasses);
        if (!validation.IsValid)
        {
            Sender.Tell(new AppCommandRefused(command.AppId, string.Join("; ", validation.Errors)));
            return;
        }

        var sender = Sender;
        Persist(new AppSubmitted(command.AppId, validation.Spec!.Name, command.SpecJson, _clock.GetUtcNow()), submitted =>
        {
            Apply(submitted);
            sender.Tell(new AppAccepted(command.AppId, AppLifecycle.Submitted));
            Decompose(validation.Spec);
        });
    }

    private void Handle(StopApp command)
    {
        if (!_state.Exists)
        {
            Sender.Tell(new AppNotFound(command.AppId));
            return;
        }
        if (_state.Lifecycle == AppLifecycle.Stopped)
        {
            Sender.Tell(new AppAccepted(command.AppId, AppLifecycle.Stopped));
            return;
        }

        var sender = Sender;
        Persist(new AppStopped(command.AppId, command.Reason, _clock.GetUtcNow()), stopped =>
        {
            Apply(stopped);
            sender.Tell(new AppAccepted(command.AppId, AppLifecycle.Stopped));
            ReleaseEverything(command.Reason);
        });
    }

    /// <summary>
    /// Pure decomposition of the stored spec; persists the outcome. After recovery the stored spec is
    /// validated again, since the configured node classes may have changed since it was accepted.
    /// </summary>
    private void Decompose(AppSpec? validated = null)
    {
        if (_state.Lifecycle != AppLifecycle.Submitted || _state.SpecJson is null) return;

        var spec = validated ?? AppSpecValidator.Validate(_state.SpecJson, _settings.NodeClasses).Spec;
        IAppEvent outcome;
        if (spec is null)
        {
            outcome = new AppRejected(_state.AppId, "the stored spec no longer validates against the known node classes", _clock.GetUtcNow());
        }
        else
        {
            var decomposition = MultiGranularityDecomposer.Decompose(spec, _settings.NodeClasses);
            var feasible = decomposition.Granularities.Where(d => d.IsFeasible).ToList();
            outcome = feasible.Count == 0
                ? new AppRejected(_state.AppId,
                    "no node class can host it: " + string.Join("; ", decomposition.Granularities.SelectMany(d => d.Infeasibilities).Distinct()),
                    _clock.GetUtcNow())
                : new AppDecomposed(_state.AppId,
                    JsonSerializer.Serialize(decomposition, ComputeNetSerializer.JsonOptions),
                    string.Join("; ", feasible.Select(d =>
                        $"{d.Granularity}: {d.Subtasks.Count} subtask(s), {d.CutTrafficFraction:P0} of traffic between subtasks")),
                    _clock.GetUtcNow());
        }

        Persist(outcome, persisted =>
        {
            Apply(persisted);
            if (persisted is AppDecomposed) StartPlanning();
        });
    }

    private void Apply(IAppEvent @event)
    {
        _state = _state.Apply(@event);
        if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshot(_state);
    }

    private object View() => _state.Exists
        ? new AppView(_state.AppId, _state.Name, _state.Lifecycle, _state.SpecJson!, _state.DecompositionJson, _state.History)
        : new AppNotFound(_state.AppId);
}
