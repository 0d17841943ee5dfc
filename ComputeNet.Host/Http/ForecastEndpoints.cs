using Akka.Actor;
using Akka.Hosting;
using ComputeNet.Actors.Drift;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Host.Hosting;
using ComputeNet.Streams.Registration;

namespace ComputeNet.Host.Http;

/// <summary>Forecasts (算力预测) of nodes and links, and the drift events that runtime adjustment reacts to.</summary>
public static class ForecastEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapForecastEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/nodes/{id}/forecast", async (string id, IRequiredActor<NodeRegion> region, CancellationToken ct) =>
        {
            if (!RegistrationParser.IsValidNodeId(id)) return NotFound("Node not found", $"No node with id '{id}' has been registered.");
            var reply = await (await region.GetAsync(ct)).Ask<object>(new NodeQueries.GetNodeForecast(id), AskTimeout, ct);
            return reply is NodeReplies.NodeForecastView view
                ? Results.Ok(view)
                : NotFound("Node not found", $"No node with id '{id}' has been registered.");
        });

        app.MapGet("/api/links/{src}/{dst}/forecast", async (string src, string dst, IRequiredActor<TopologyKey> topology, CancellationToken ct) =>
        {
            var reply = await (await topology.GetAsync(ct)).Ask<object>(new TopologyQueries.GetLinkForecast(src, dst), AskTimeout, ct);
            return reply is TopologyReplies.LinkForecastView view
                ? Results.Ok(view)
                : NotFound("Link not found", $"No telemetry has been applied for the link '{src}' → '{dst}'.");
        });

        app.MapGet("/api/events", async (string? type, int? limit, IRequiredActor<DriftEventLog> log, CancellationToken ct) =>
        {
            if (type != "drift")
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unsupported event type",
                    detail: $"type must be 'drift' (got '{type}'); the full history is in the journal (audit replay).",
                    type: "https://computenet.dev/problems/unsupported-event-type");
            var events = await (await log.GetAsync(ct)).Ask<DriftEventLogProtocol.DriftEvents>(
                new DriftEventLogProtocol.ListDriftEvents(Math.Clamp(limit ?? 100, 1, 10_000)), AskTimeout, ct);
            return Results.Ok(new { count = events.Events.Count, events = events.Events });
        });
        return app;
    }

    private static IResult NotFound(string title, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail, type: "https://computenet.dev/problems/not-found");
}
