using Akka.Actor;
using Akka.Hosting;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Host.Hosting;

namespace ComputeNet.Host.Http;

public static class TopologyEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapTopologyEndpoints(this IEndpointRouteBuilder app)
    {
        // Nodes (with health, from the journal projection) and links (with their current state).
        app.MapGet("/api/topology", async (IRequiredActor<TopologyKey> topology, IRequiredActor<NodeDirectory> directory, CancellationToken ct) =>
        {
            var links = await (await topology.GetAsync(ct)).Ask<TopologyReplies.TopologyView>(new TopologyQueries.GetTopology(), AskTimeout, ct);
            var nodes = await (await directory.GetAsync(ct)).Ask<NodeDirectoryProtocol.NodeList>(new NodeDirectoryProtocol.ListNodes(), AskTimeout, ct);
            return Results.Ok(new
            {
                nodes = nodes.Nodes.Select(n => new { nodeId = n.Spec.NodeId, n.Spec.Region, n.Spec.Tier, n.Health }),
                links = links.Links,
                linksUp = links.Links.Count(l => l.Up),
            });
        });

        app.MapGet("/api/topology/path", async (string from, string to, IRequiredActor<TopologyKey> topology, CancellationToken ct) =>
        {
            var view = await (await topology.GetAsync(ct)).Ask<TopologyReplies.PathView>(new TopologyQueries.GetPath(from, to), AskTimeout, ct);
            return view.Path is null
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No path",
                    detail: $"No route of links that are up joins '{from}' and '{to}'.", type: "https://computenet.dev/problems/no-path")
                : Results.Ok(view);
        });
        return app;
    }
}
