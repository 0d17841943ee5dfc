using ComputeNet.Actors.Persistence;

namespace ComputeNet.Actors.Apps;

/// <summary>Every message an <see cref="AppActor"/> handles names its app, so one extractor routes them all.</summary>
public interface IAppMessage
{
    string AppId { get; }
}

/// <summary>The application lifecycle: Submitted → Decomposed → (Planned → Deploying → Running → Adjusting) → Stopped; Rejected when it cannot be decomposed.</summary>
public enum AppLifecycle
{
    Unknown,
    Submitted,
    Decomposed,
    Rejected,
    Planned,
    Deploying,
    Running,
    Adjusting,
    Stopped,
}

public static class AppCommands
{
    /// <summary>Submits an application; <paramref name="SpecJson"/> is the validated spec in its canonical JSON form.</summary>
    public sealed record SubmitApp(string AppId, string SpecJson) : IAppMessage, IComputeNetMessage;

    public sealed record StopApp(string AppId, string Reason) : IAppMessage, IComputeNetMessage;
}

public static class AppQueries
{
    public sealed record GetApp(string AppId) : IAppMessage, IComputeNetMessage;
}

public static class AppReplies
{
    public sealed record AppAccepted(string AppId, AppLifecycle Lifecycle) : IComputeNetMessage;

    /// <summary>A command the app's current state does not allow (e.g. submitting an id twice with another spec).</summary>
    public sealed record AppCommandRefused(string AppId, string Reason) : IComputeNetMessage;

    public sealed record AppNotFound(string AppId) : IComputeNetMessage;

    public sealed record AppView(
        string AppId,
        string Name,
        AppLifecycle Lifecycle,
        string SpecJson,
        string? DecompositionJson,
        IReadOnlyList<AppTransition> History) : IComputeNetMessage
    {
        public bool Equals(AppView? other) =>
            other is not null && AppId == other.AppId && Name == other.Name && Lifecycle == other.Lifecycle
            && SpecJson == other.SpecJson && DecompositionJson == other.DecompositionJson && History.SequenceEqual(other.History);

        public override int GetHashCode() => HashCode.Combine(AppId, Lifecycle);
    }
}

/// <summary>One step of an app's state history, with why it happened.</summary>
public sealed record AppTransition(AppLifecycle Lifecycle, DateTimeOffset At, string Reason);

public static class AppEvents
{
    public sealed record AppSubmitted(string AppId, string Name, string SpecJson, DateTimeOffset At) : IAppEvent;

    /// <summary>The app cut into subtasks at every granularity; <paramref name="DecompositionJson"/> is a MultiGranularityDecomposition.</summary>
    public sealed record AppDecomposed(string AppId, string DecompositionJson, string Summary, DateTimeOffset At) : IAppEvent;

    public sealed record AppRejected(string AppId, string Reason, DateTimeOffset At) : IAppEvent;

    public sealed record AppStopped(string AppId, string Reason, DateTimeOffset At) : IAppEvent;
}

public interface IAppEvent : IComputeNetEvent
{
    string AppId { get; }

    DateTimeOffset At { get; }
}
