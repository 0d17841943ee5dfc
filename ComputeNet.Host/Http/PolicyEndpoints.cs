using Akka.Actor;
using Akka.Hosting;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Host.Hosting;

namespace ComputeNet.Host.Http;

/// <summary>The learned placement policy's self-evolving mode: what serves, the last round's scores, every swap.</summary>
public static class PolicyEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapPolicyEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/policies/drl/evolution", async (ActorSystem system, CancellationToken ct) =>
        {
            if (!ActorRegistry.For(system).TryGet<PolicyEvolutionKey>(out var evolution))
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Self-evolving mode is off",
                    detail: "Set ComputeNet:Drl:SelfEvolving to true to record the drl policy's decisions and fine-tune its model.",
                    type: "https://computenet.dev/problems/not-found");
            return Results.Ok(await evolution.Ask<PolicyEvolutionView>(new GetPolicyEvolution(), AskTimeout, ct));
        });
        return app;
    }
}
