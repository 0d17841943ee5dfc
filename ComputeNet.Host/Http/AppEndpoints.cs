using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http.Features;
using ComputeNet.Actors.Apps;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Host.Hosting;

namespace ComputeNet.Host.Http;

public static partial class AppEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    public const int MaxSpecBytes = 1024 * 1024;

    [GeneratedRegex("[^a-z0-9-]+")]
    private static partial Regex NotSlug();

    public static IEndpointRouteBuilder MapAppEndpoints(this IEndpointRouteBuilder app)
    {
        var apps = app.MapGroup("/api/apps");

        apps.MapPost("/", async (HttpRequest request, IRequiredActor<AppRegion> region, AppActorSettings settings, CancellationToken ct) =>
        {
            if (request.ContentLength > MaxSpecBytes) return SpecTooLarge();
            // Bodies without a length (chunked) are cut off by Kestrel at the same limit.
            if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = MaxSpecBytes;
            string json;
            try
            {
                using var reader = new StreamReader(request.Body);
                json = await reader.ReadToEndAsync(ct);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return SpecTooLarge();
            }

            var validation = AppSpecValidator.Validate(json, settings.NodeClasses);
            if (!validation.IsValid)
            {
                return Results.Json(new
                {
                    type = "https://computenet.dev/problems/invalid-app-spec",
                    title = "Invalid application spec",
                    status = 400,
                    errors = validation.Errors.Select(e => new { path = e.Path, message = e.Message }),
                }, statusCode: 400, contentType: "application/problem+json");
            }

            var appId = $"{Slug(validation.Spec!.Name)}-{Guid.NewGuid().ToString("N")[..8]}";
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new AppCommands.SubmitApp(appId, AppSpecJson.Serialize(validation.Spec)), AskTimeout, ct);
            return reply switch
            {
                AppReplies.AppAccepted accepted => Results.Accepted($"/api/apps/{appId}", new { id = appId, lifecycle = accepted.Lifecycle }),
                AppReplies.AppCommandRefused refused => Results.Problem(statusCode: 409, title: "Refused", detail: refused.Reason),
                _ => Results.Problem(statusCode: 500, title: "Unexpected reply", detail: reply.GetType().Name),
            };
        });

        apps.MapGet("/", async (IRequiredActor<AppDirectory> directory, CancellationToken ct) =>
        {
            var actor = await directory.GetAsync(ct);
            var list = await actor.Ask<AppDirectoryProtocol.AppList>(new AppDirectoryProtocol.ListApps(), AskTimeout, ct);
            return Results.Ok(new { count = list.Apps.Count, apps = list.Apps });
        });

        apps.MapGet("/{id}", async (string id, IRequiredActor<AppRegion> region, CancellationToken ct) =>
        {
            if (!IsAppId(id)) return AppNotFound(id);
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new AppQueries.GetApp(id), AskTimeout, ct);
            return reply is AppReplies.AppView view
                ? Results.Ok(new
                {
                    id = view.AppId,
                    name = view.Name,
                    lifecycle = view.Lifecycle,
                    spec = JsonNode.Parse(view.SpecJson),
                    decomposition = view.DecompositionJson is null ? null : JsonNode.Parse(view.DecompositionJson),
                    history = view.History,
                })
                : AppNotFound(id);
        });

        apps.MapGet("/{id}/plan", async (string id, IRequiredActor<AppRegion> region, CancellationToken ct) =>
        {
            if (!IsAppId(id)) return AppNotFound(id);
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new AppSchedulingCommands.GetAppPlan(id), AskTimeout, ct);
            if (reply is not AppSchedulingReplies.AppPlanView view) return AppNotFound(id);
            var decision = view.Decision;
            return Results.Ok(new
            {
                id = view.AppId,
                lifecycle = view.Lifecycle,
                placed = decision is not null,
                granularity = decision?.Granularity,
                policy = decision?.Policy,
                planningRounds = decision?.PlanningRounds,
                objective = decision?.Objective,
                deploymentId = view.DeploymentId,
                replacements = view.Replacements,
                subtasks = decision?.Subtasks.Select(s => new
                {
                    subtaskId = s.SubtaskId,
                    nodeId = s.NodeId,
                    resources = s.Demand,
                    deployed = view.DeployedSubtasks.Contains(s.SubtaskId),
                    runnersUp = s.RunnersUp,
                }),
                history = view.History,
            });
        });

        apps.MapDelete("/{id}", async (string id, IRequiredActor<AppRegion> region, CancellationToken ct) =>
        {
            if (!IsAppId(id)) return AppNotFound(id);
            var shard = await region.GetAsync(ct);
            var reply = await shard.Ask<object>(new AppCommands.StopApp(id, "stopped by DELETE /api/apps"), AskTimeout, ct);
            return reply is AppReplies.AppAccepted accepted
                ? Results.Accepted($"/api/apps/{id}", new { id, lifecycle = accepted.Lifecycle })
                : AppNotFound(id);
        });

        return app;
    }

    private static IResult SpecTooLarge() =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Spec too large",
            detail: $"An application spec may be at most {MaxSpecBytes} bytes.");

    private static bool IsAppId(string id) => Streams.Registration.RegistrationParser.IsValidId(id);

    private static string Slug(string name)
    {
        var slug = NotSlug().Replace(name.ToLowerInvariant(), "-").Trim('-');
        return slug.Length == 0 ? "app" : slug.Length > 40 ? slug[..40].TrimEnd('-') : slug;
    }

    private static IResult AppNotFound(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "App not found",
            detail: $"No application with id '{id}' has been submitted.", type: "https://computenet.dev/problems/app-not-found");
}
