using System.Collections.Immutable;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Apps.AppEvents;

namespace ComputeNet.Actors.Apps;

/// <summary>An application's durable state; <see cref="Apply"/> is the one place that decides what an event means.</summary>
public sealed record AppState(
    string AppId,
    string Name,
    AppLifecycle Lifecycle,
    string? SpecJson,
    string? DecompositionJson,
    ImmutableList<AppTransition> History) : IComputeNetSnapshot
{
    public static AppState Empty(string appId) => new(appId, "", AppLifecycle.Unknown, null, null, []);

    public bool Exists => Lifecycle != AppLifecycle.Unknown;

    public AppState Apply(IAppEvent @event) => @event switch
    {
        AppSubmitted e => this with
        {
            Name = e.Name, SpecJson = e.SpecJson, Lifecycle = AppLifecycle.Submitted,
            History = History.Add(new AppTransition(AppLifecycle.Submitted, e.At, "submitted")),
        },
        AppDecomposed e => this with
        {
            DecompositionJson = e.DecompositionJson, Lifecycle = AppLifecycle.Decomposed,
            History = History.Add(new AppTransition(AppLifecycle.Decomposed, e.At, e.Summary)),
        },
        AppRejected e => this with
        {
            Lifecycle = AppLifecycle.Rejected,
            History = History.Add(new AppTransition(AppLifecycle.Rejected, e.At, e.Reason)),
        },
        AppStopped e => this with
        {
            Lifecycle = AppLifecycle.Stopped,
            History = History.Add(new AppTransition(AppLifecycle.Stopped, e.At, e.Reason)),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown app event"),
    };

    public bool Equals(AppState? other) =>
        other is not null && AppId == other.AppId && Name == other.Name && Lifecycle == other.Lifecycle
        && SpecJson == other.SpecJson && DecompositionJson == other.DecompositionJson && History.SequenceEqual(other.History);

    public override int GetHashCode() => HashCode.Combine(AppId, Lifecycle, History.Count);
}
