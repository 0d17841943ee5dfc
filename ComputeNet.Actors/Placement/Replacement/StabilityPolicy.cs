namespace ComputeNet.Actors.Placement;

/// <param name="TriggerHold">How long a trigger must persist before a non-urgent move (a blip is not worth a migration).</param>
/// <param name="ClearRatio">Hysteresis: once triggered, an app counts as clear only when its pressure falls to this (below the trigger level 1).</param>
/// <param name="CoolDown">After a move, no further non-urgent move of the same app for this long.</param>
/// <param name="MaxMovesPerWindow">Rate limit: at most this many re-placements of one app per <paramref name="RateWindow"/>, urgent or not.</param>
/// <param name="PingPongWindow">A subtask may not return to a node it left within this long.</param>
public sealed record StabilityOptions(
    TimeSpan TriggerHold,
    double ClearRatio,
    TimeSpan CoolDown,
    int MaxMovesPerWindow,
    TimeSpan RateWindow,
    TimeSpan PingPongWindow)
{
    public static readonly StabilityOptions Default = new(
        TimeSpan.FromSeconds(5), 0.9, TimeSpan.FromMinutes(2), 3, TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(30));

    /// <summary>No damping at all: act on every trigger at once (the benchmark's and a baseline's setting).</summary>
    public static readonly StabilityOptions None = new(TimeSpan.Zero, 1.0, TimeSpan.Zero, int.MaxValue, TimeSpan.Zero, TimeSpan.Zero);
}

/// <summary>Whether to act on a trigger now; if not, why, and when to look again (null = only on the next change).</summary>
public sealed record StabilityDecision(bool Act, string Reason, DateTimeOffset? RetryAt = null)
{
    public static StabilityDecision Go(string reason) => new(true, reason);

    public static StabilityDecision Wait(string reason, DateTimeOffset? retryAt = null) => new(false, reason, retryAt);
}

/// <summary>
/// Stability of runtime adjustment, pure (time is passed in): per-app hysteresis between trigger and
/// all-clear, a hold time, a cool-down and a rate limit, and a ping-pong guard that forbids sending a
/// subtask back to a node it recently left. Holds state per app; not thread-safe (one owner).
/// </summary>
public sealed class StabilityPolicy(StabilityOptions? options = null)
{
    private readonly Dictionary<string, AppHistory> _apps = new(StringComparer.Ordinal);

    public StabilityOptions Options { get; } = options ?? StabilityOptions.Default;

    /// <summary>
    /// Records an observation of the app's pressure (≥ 1 = triggered) and decides whether to act.
    /// Urgent triggers (the node is gone) skip the hold and the cool-down but not the rate limit.
    /// </summary>
    public StabilityDecision Consider(string appId, double pressure, bool urgent, DateTimeOffset now)
    {
        var app = History(appId);
        if (pressure <= Options.ClearRatio || (pressure < 1 && app.TriggeredSince is null))
        {
            app.TriggeredSince = null;
            return StabilityDecision.Wait(pressure <= Options.ClearRatio ? "all clear" : "within the hysteresis band");
        }
        app.TriggeredSince ??= now;
        if (!urgent && now - app.TriggeredSince < Options.TriggerHold)
            return StabilityDecision.Wait("trigger must persist", app.TriggeredSince + Options.TriggerHold);
        while (app.MoveTimes.Count > 0 && now - app.MoveTimes.Peek() >= Options.RateWindow) app.MoveTimes.Dequeue();
        if (app.MoveTimes.Count >= Options.MaxMovesPerWindow)
            return StabilityDecision.Wait("rate limit", app.MoveTimes.Peek() + Options.RateWindow);
        if (!urgent && app.LastMove is { } last && now - last < Options.CoolDown)
            return StabilityDecision.Wait("cool-down", last + Options.CoolDown);
        return StabilityDecision.Go(urgent ? "urgent" : "triggered");
    }

    /// <summary>Per subtask id, the node ids it must not go to now (left within the ping-pong window).</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> ForbiddenTargets(string appId, DateTimeOffset now)
    {
        var result = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        if (!_apps.TryGetValue(appId, out var app)) return result;
        foreach (var (subtask, left) in app.Left)
        {
            var recent = left.Where(l => now - l.At < Options.PingPongWindow).Select(l => l.NodeId).ToHashSet(StringComparer.Ordinal);
            if (recent.Count > 0) result[subtask] = recent;
        }
        return result;
    }

    /// <summary>Records executed moves: starts the cool-down, counts against the rate limit, remembers the nodes left.</summary>
    public void Moved(string appId, IEnumerable<SubtaskMove> moves, DateTimeOffset now)
    {
        var app = History(appId);
        app.LastMove = now;
        app.MoveTimes.Enqueue(now);
        app.TriggeredSince = null;
        foreach (var move in moves)
        {
            if (move.FromNodeId is null) continue;
            if (!app.Left.TryGetValue(move.SubtaskId, out var left)) app.Left[move.SubtaskId] = left = [];
            left.RemoveAll(l => now - l.At >= Options.PingPongWindow);
            left.Add((move.FromNodeId, now));
        }
    }

    private AppHistory History(string appId)
    {
        if (!_apps.TryGetValue(appId, out var app)) _apps[appId] = app = new AppHistory();
        return app;
    }

    private sealed class AppHistory
    {
        public DateTimeOffset? TriggeredSince { get; set; }

        public DateTimeOffset? LastMove { get; set; }

        public Queue<DateTimeOffset> MoveTimes { get; } = new();

        public Dictionary<string, List<(string NodeId, DateTimeOffset At)>> Left { get; } = new(StringComparer.Ordinal);
    }
}
