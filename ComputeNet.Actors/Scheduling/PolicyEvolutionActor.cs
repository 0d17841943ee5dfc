using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Placement.Learning;

namespace ComputeNet.Actors.Scheduling;

/// <summary>The learned policy was replaced by a fine-tuned copy that scored better on held-out recorded decisions.</summary>
/// <param name="Round">Fine-tune rounds run so far (this one included).</param>
/// <param name="CandidateScore">The new model's held-out score (mean episode reward, higher is better).</param>
/// <param name="CurrentScore">The replaced model's score on the same decisions.</param>
/// <param name="ModelFile">Where the new model was saved (loaded again after a restart).</param>
public sealed record DrlModelSwapped(
    int Round, double CandidateScore, double CurrentScore, int TrainingDecisions, int HeldOutDecisions, string ModelFile, DateTimeOffset At)
    : IComputeNetEvent;

/// <summary>Asks the evolution actor for its state.</summary>
public sealed record GetPolicyEvolution : IComputeNetMessage;

/// <summary>The self-evolving policy's state: serving model, decisions recorded, the last round's scores and every swap.</summary>
public sealed record PolicyEvolutionView(
    string Model, long DecisionsRecorded, int DecisionsKept, int Rounds, bool RoundRunning,
    double? LastCurrentScore, double? LastCandidateScore, string? LastOutcome, IReadOnlyList<DrlModelSwapped> Swaps) : IComputeNetMessage
{
    public bool Equals(PolicyEvolutionView? other) =>
        other is not null && Model == other.Model && DecisionsRecorded == other.DecisionsRecorded && DecisionsKept == other.DecisionsKept
        && Rounds == other.Rounds && RoundRunning == other.RoundRunning && Nullable.Equals(LastCurrentScore, other.LastCurrentScore)
        && Nullable.Equals(LastCandidateScore, other.LastCandidateScore) && LastOutcome == other.LastOutcome && Swaps.SequenceEqual(other.Swaps);

    public override int GetHashCode() => HashCode.Combine(Model, Rounds, Swaps.Count);
}

/// <param name="Interval">Time between fine-tune rounds.</param>
/// <param name="ModelDirectory">Where swapped-in models are saved.</param>
public sealed record PolicyEvolutionSettings(TimeSpan Interval, string ModelDirectory, EvolutionOptions Options);

/// <summary>
/// The self-evolving mode's shell: every <see cref="PolicyEvolutionSettings.Interval"/> it runs one
/// <see cref="PolicyEvolution.FineTune"/> round on the decisions the policy recorded, on a background
/// thread of low priority (one torch thread, small batches), and swaps the fine-tuned copy in only if it
/// scored better; each swap is persisted with both scores first, then served. After a restart the last
/// swapped-in model serves again.
/// </summary>
public sealed class PolicyEvolutionActor : ReceivePersistentActor, IWithTimers
{
    public const string Id = "drl-policy-evolution";

    /// <summary>Starts a round now (the timer sends it; tests and operators may too).</summary>
    public sealed record EvolveNow;

    private sealed record RoundFinished(EvolutionRound Round);

    private sealed record RoundFailed(Exception Cause);

    private readonly DrlPlacementPolicy _policy;
    private readonly PolicyEvolutionSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<DrlModelSwapped> _swaps = [];
    private int _rounds;
    private bool _running;
    private EvolutionRound? _last;
    private string? _lastOutcome;

    public PolicyEvolutionActor(DrlPlacementPolicy policy, PolicyEvolutionSettings settings)
    {
        _policy = policy;
        _settings = settings;
        Recover<DrlModelSwapped>(swapped =>
        {
            _swaps.Add(swapped);
            _rounds = Math.Max(_rounds, swapped.Round);
        });
        Recover<RecoveryCompleted>(_ =>
        {
            if (_swaps.LastOrDefault() is { } last) RestoreSwapped(last);
            Timers.StartPeriodicTimer("evolve", new EvolveNow(), settings.Interval);
        });
        Command<EvolveNow>(_ => StartRound());
        Command<RoundFinished>(finished => Finish(finished.Round));
        Command<RoundFailed>(failed =>
        {
            _running = false;
            _lastOutcome = $"failed: {failed.Cause.Message}";
            _log.Warning(failed.Cause, "Fine-tuning the learned placement policy failed; the current model keeps serving");
        });
        Command<GetPolicyEvolution>(_ => Sender.Tell(View()));
    }

    public override string PersistenceId => Id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(DrlPlacementPolicy policy, PolicyEvolutionSettings settings) =>
        Akka.Actor.Props.Create(() => new PolicyEvolutionActor(policy, settings));

    private void StartRound()
    {
        var recorder = _policy.Recorder;
        if (_running || recorder is null || _policy.Model is not { } current) return;
        var decisions = recorder.Snapshot();
        if (decisions.Count < _settings.Options.MinDecisions)
        {
            _lastOutcome = $"waiting: {decisions.Count} of {_settings.Options.MinDecisions} decisions recorded";
            return;
        }
        _running = true;
        _rounds++;
        var options = _settings.Options with { Seed = _settings.Options.Seed + _rounds };
        var self = Self;
        // A thread of its own at low priority: the round must not starve the scheduler or the streams.
        var thread = new Thread(() =>
        {
            try
            {
                self.Tell(new RoundFinished(PolicyEvolution.FineTune(current, decisions, options)));
            }
            catch (Exception e)
            {
                self.Tell(new RoundFailed(e));
            }
        })
        {
            IsBackground = true,
            Priority = ThreadPriority.Lowest,
            Name = "drl-fine-tune",
        };
        thread.Start();
    }

    private void Finish(EvolutionRound round)
    {
        _running = false;
        _last = round;
        if (!round.Swap)
        {
            _lastOutcome = "kept the current model";
            _log.Info("Learned placement policy: round {0} kept the current model (held-out score {1:F4}, fine-tuned {2:F4}, {3} decisions held out)",
                _rounds, round.CurrentScore, round.CandidateScore, round.HeldOutDecisions);
            round.Candidate.Dispose();
            return;
        }
        Directory.CreateDirectory(_settings.ModelDirectory);
        var file = Path.Combine(_settings.ModelDirectory, $"placement-drl.evolved-{_rounds}.bin");
        round.Candidate.save(file);
        var swapped = new DrlModelSwapped(_rounds, round.CandidateScore, round.CurrentScore, round.TrainingDecisions, round.HeldOutDecisions,
            file, DateTimeOffset.UtcNow);
        Persist(swapped, persisted =>
        {
            _swaps.Add(persisted);
            _lastOutcome = "swapped in the fine-tuned model";
            _policy.Swap(round.Candidate, Describe(persisted));
            _log.Info("Learned placement policy: round {0} swapped in a fine-tuned model (held-out score {1:F4} against {2:F4}), saved to {3}",
                persisted.Round, persisted.CandidateScore, persisted.CurrentScore, persisted.ModelFile);
        });
    }

    private void RestoreSwapped(DrlModelSwapped last)
    {
        if (!File.Exists(last.ModelFile))
        {
            _log.Warning("The last swapped-in placement model {0} is gone; the shipped model serves", last.ModelFile);
            return;
        }
        try
        {
            _policy.Swap(new PlacementGnn().LoadWeights(last.ModelFile), Describe(last));
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException)
        {
            _log.Warning(e, "The last swapped-in placement model {0} could not be loaded; the shipped model serves", last.ModelFile);
        }
    }

    private static string Describe(DrlModelSwapped swapped) =>
        $"model {Path.GetFileName(swapped.ModelFile)} (self-evolved in round {swapped.Round}: held-out score {swapped.CandidateScore:F4} against {swapped.CurrentScore:F4})";

    private PolicyEvolutionView View() => new(
        _policy.Description, _policy.Recorder?.Total ?? 0, _policy.Recorder?.Count ?? 0, _rounds, _running,
        _last?.CurrentScore, _last?.CandidateScore, _lastOutcome, [.. _swaps]);
}
