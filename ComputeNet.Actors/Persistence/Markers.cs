namespace ComputeNet.Actors.Persistence;

/// <summary>Anything that crosses a process boundary: bound to <see cref="ComputeNetSerializer"/>.</summary>
public interface IComputeNetMessage;

/// <summary>A persisted event: a public schema. Add fields, never rename or reuse them.</summary>
public interface IComputeNetEvent : IComputeNetMessage;

/// <summary>A persisted snapshot.</summary>
public interface IComputeNetSnapshot : IComputeNetMessage;

public static class PersistenceIds
{
    public static string Node(string nodeId) => $"node-{nodeId}";

    /// <summary>The node's telemetry checkpoints: a journal of its own, compacted by snapshots, so the node's lifecycle journal stays an audit trail.</summary>
    public static string NodeTelemetry(string nodeId) => $"node-{ReservedNodeIdPrefix}{nodeId}";

    /// <summary>
    /// Node ids may not start with this: node "telemetry-x"'s own journal would be <see cref="NodeTelemetry"/> of node "x"
    /// ("node-telemetry-x"), two actors writing one stream.
    /// </summary>
    public const string ReservedNodeIdPrefix = "telemetry-";

    public static string App(string appId) => AppPrefix + appId;

    public const string AppPrefix = "app-";

    /// <summary>The app id of an app's persistence id; null for any other entity's.</summary>
    public static string? AppIdOf(string persistenceId) =>
        persistenceId.StartsWith(AppPrefix, StringComparison.Ordinal) ? persistenceId[AppPrefix.Length..] : null;
}

/// <summary>Tags the event tagger writes, for Persistence.Query's eventsByTag (audit, projections).</summary>
public static class EventTags
{
    public const string Node = "node";
    public const string App = "app";
    public const string Link = "link";
    public const string All = "all";

    /// <summary>Node and link drift, down and up: what runtime adjustment (运行调整) reacts to.</summary>
    public const string Drift = "drift";

    /// <summary>What runtime adjustment did: re-placements, their migration's end, degradations (published on computenet.events).</summary>
    public const string Adjustment = "adjustment";
}
