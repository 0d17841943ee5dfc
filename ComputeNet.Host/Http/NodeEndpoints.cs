using Akka.Actor;
using Akka.Hosting;
using ComputeNet.Actors.Nodes;
using ComputeNet.Host.Hosting;
using ComputeNet.Streams.Registration;

namespace ComputeNet.Host.Http;

public static class NodeEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapNodeEndpoints(this IEndpointRouteBuilder app)
    {
        var nodes = app.MapGroup("/api/nodes");

        nodes.MapGet("/", async (IRequiredActor<NodeDirectory> directory, bool? includeDeregistered, CancellationToken ct) =>
        {
            var actor = await directory.GetAsync(ct);
            var list = await actor.Ask<NodeDirectoryProtocol.NodeList>(
                new NodeDirectoryProtocol.ListNodes(includeDeregistered ?? false), AskTimeout, ct);
            return Results.Ok(new { count = list.Nodes.Count, nodes = list.Nodes });
        });

        nodes.MapGet("/{id}", async (string id, IRequiredActor<NodeRegion> region, CancellationToken ct) =>
        {
            // Reject ids no registration could have produced before waking a sharded entity for them.
            if (!RegistrationParser.IsValidNodeId(id)) return NodeNotFound(id);
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new NodeQueries.GetNode(id), AskTimeout, ct);
            return reply switch
            {
                NodeReplies.NodeView view => Results.Ok(view),
                _ => NodeNotFound(id),
            };
        });

        nodes.MapGet("/{id}/telemetry", async (string id, IRequiredActor<NodeRegion> region, CancellationToken ct) =>
        {
            if (!RegistrationParser.IsValidNodeId(id)) return NodeNotFound(id);
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new NodeQueries.GetNodeTelemetry(id), AskTimeout, ct);
            return reply switch
            {
                NodeReplies.NodeTelemetryView view => Results.Ok(view),
                _ => NodeNotFound(id),
            };
        });

        // The node's ledger (资源预留): what committed plans hold, what live reservations hold, what is left.
        nodes.MapGet("/{id}/capacity", async (string id, IRequiredActor<NodeRegion> region, CancellationToken ct) =>
        {
            if (!RegistrationParser.IsValidNodeId(id)) return NodeNotFound(id);
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new ReservationCommands.GetNodeCapacity(id), AskTimeout, ct);
            return reply switch
            {
                ReservationReplies.NodeCapacityView view => Results.Ok(view),
                _ => NodeNotFound(id),
            };
        });

        return app;
    }

    private static IResult NodeNotFound(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Node not found",
            detail: $"No node with id '{id}' has been registered.", type: "https://computenet.dev/problems/node-not-found");
}
