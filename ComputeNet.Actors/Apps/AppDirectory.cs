using Akka.Actor;
using Akka.Persistence.Query;
using ComputeNet.Actors.Persistence;
using static ComputeNet.Actors.Apps.AppEvents;

namespace ComputeNet.Actors.Apps;

public static class AppDirectoryProtocol
{
    public sealed record ListApps;

    public sealed record AppEntry(string AppId, string Name, AppLifecycle Lifecycle, DateTimeOffset SubmittedAt, DateTimeOffset UpdatedAt);

    public sealed record AppList(IReadOnlyList<AppEntry> Apps);
}

/// <summary>Every application and its lifecycle, projected from the journal's "app" tag.</summary>
public sealed class AppDirectory : TagProjection
{
    private readonly Dictionary<string, AppDirectoryProtocol.AppEntry> _apps = new(StringComparer.Ordinal);

    public AppDirectory(IEventsByTagQuery readJournal) : base(readJournal, EventTags.App)
    {
        Receive<AppDirectoryProtocol.ListApps>(_ => Sender.Tell(new AppDirectoryProtocol.AppList(
            _apps.Values.OrderBy(a => a.SubmittedAt).ThenBy(a => a.AppId, StringComparer.Ordinal).ToList())));
    }

    public static Props Props(IEventsByTagQuery readJournal) => Akka.Actor.Props.Create(() => new AppDirectory(readJournal));

    protected override void Apply(object @event)
    {
        switch (@event)
        {
            case AppSubmitted s:
                _apps[s.AppId] = new AppDirectoryProtocol.AppEntry(s.AppId, s.Name, AppLifecycle.Submitted, s.At, s.At);
                break;
            case IAppEvent e when _apps.TryGetValue(e.AppId, out var existing):
                _apps[e.AppId] = existing with { Lifecycle = LifecycleAfter(e, existing.Lifecycle), UpdatedAt = e.At };
                break;
        }
    }

    private static AppLifecycle LifecycleAfter(IAppEvent e, AppLifecycle current) => e switch
    {
        AppDecomposed => AppLifecycle.Decomposed,
        AppRejected => AppLifecycle.Rejected,
        AppStopped => AppLifecycle.Stopped,
        AppSchedulingEvents.PlacementDecided => AppLifecycle.Planned,
        AppSchedulingEvents.DeploymentStarted => AppLifecycle.Deploying,
        AppSchedulingEvents.AppRunning => AppLifecycle.Running,
        AppAdjustmentEvents.AppRescheduled => AppLifecycle.Adjusting,
        AppAdjustmentEvents.MigrationCompleted or AppAdjustmentEvents.MigrationRolledBack => AppLifecycle.Running,
        _ => current,
    };
}
