using ComputeNet.Actors.Model;

namespace ComputeNet.Streams.Telemetry;

/// <summary>A consumed telemetry record after the schema check: a node report, a link report, or a reason to reject it.</summary>
public sealed record TelemetryRecord<TSource>(TSource Source, NodeTelemetry? Node, LinkTelemetry? Link, string? Reason);

/// <summary>One node's samples of a window that carried the same token, in consumption order, with their sources.</summary>
public sealed record NodeBatch<TSource>(string NodeId, string AgentToken, List<NodeUsageSample> Samples, List<TSource> Sources);

/// <summary>One link's samples of a window from one token (one reporter), in consumption order.</summary>
public sealed record LinkBatch<TSource>(string Src, string Dst, string AgentToken, List<LinkSample> Samples, List<TSource> Sources);

/// <summary>
/// One tumbling window over the stream, grouped by entity. Every open window closes together (on the interval,
/// when the record bound is reached, or when the stream goes quiet), so once a window is applied every record before its
/// last offset is applied too, and its offsets may be committed.
/// </summary>
public sealed record TelemetryWindow<TSource>(
    IReadOnlyList<NodeBatch<TSource>> Nodes,
    IReadOnlyList<LinkBatch<TSource>> Links,
    IReadOnlyList<(TSource Source, string Reason)> Invalid,
    int Records)
{
    /// <summary>Pure: groups a window's records by node (and token) and by link (and token), keeping each group's order.</summary>
    public static TelemetryWindow<TSource> Build(IReadOnlyList<TelemetryRecord<TSource>> records)
    {
        var nodes = new Dictionary<(string, string), NodeBatch<TSource>>();
        var links = new Dictionary<(string, string, string), LinkBatch<TSource>>();
        var nodeOrder = new List<NodeBatch<TSource>>();
        var linkOrder = new List<LinkBatch<TSource>>();
        var invalid = new List<(TSource, string)>();
        foreach (var record in records)
        {
            if (record.Node is { } node)
            {
                if (!nodes.TryGetValue((node.NodeId, node.AgentToken), out var batch))
                {
                    nodes[(node.NodeId, node.AgentToken)] = batch = new NodeBatch<TSource>(node.NodeId, node.AgentToken, [], []);
                    nodeOrder.Add(batch);
                }
                batch.Samples.Add(node.Sample);
                batch.Sources.Add(record.Source);
            }
            else if (record.Link is { } link)
            {
                if (!links.TryGetValue((link.Src, link.Dst, link.AgentToken), out var batch))
                {
                    links[(link.Src, link.Dst, link.AgentToken)] = batch = new LinkBatch<TSource>(link.Src, link.Dst, link.AgentToken, [], []);
                    linkOrder.Add(batch);
                }
                batch.Samples.Add(link.Sample);
                batch.Sources.Add(record.Source);
            }
            else
            {
                invalid.Add((record.Source, record.Reason ?? "invalid record"));
            }
        }
        return new TelemetryWindow<TSource>(nodeOrder, linkOrder, invalid, records.Count);
    }
}
