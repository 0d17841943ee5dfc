using System.Net;
using System.Text.Json.Nodes;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// Applications as a user meets them: the README's AR-game sample submitted with the CLI against the
/// real host comes back decomposed (and, with no node registered, rejected with the reason); a broken spec is refused with errors pointing at the field; the app
/// survives kill -9 and a restart.
/// </summary>
public sealed class AppEndToEndTests
{
    private static string Sample(string name) => Path.Combine(HostProcess.RepositoryRoot(), "ComputeNet.Host", "samples", "apps", name);

    [Fact]
    public async Task The_ar_game_submitted_with_the_cli_is_decomposed_then_rejected_without_nodes_and_survives_kill_9()
    {
        using var data = new TempDirectory("computenet-apps");
        var apiPort = HostProcess.FreePort();
        string appId;

        await using (var host = await HostProcess.StartAsync(data.Path, apiPort))
        {
            var (exit, stdout, stderr) = await host.RunCliAsync("submit", Sample("complex-multiplayer-ar-game.json"));
            exit.ShouldBe(0, stderr);
            stdout.ShouldStartWith("submitted: ar-treasure-hunt-");
            appId = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

            var app = await Eventually.GetAsync(async () =>
            {
                var view = await host.GetJsonAsync<JsonObject>($"/api/apps/{appId}");
                return view["lifecycle"]!.GetValue<string>() == "rejected" ? view : null;
            });
            var granularities = app["decomposition"]!["granularities"]!.AsArray();
            granularities.Count.ShouldBeGreaterThanOrEqualTo(2);
            var edge = granularities.Single(g => g!["granularity"]!.GetValue<string>() == "edge")!;
            var subtasks = edge["subtasks"]!.AsArray();
            var ofComponent = subtasks.SelectMany(s => s!["componentIds"]!.AsArray().Select(c => (Component: c!.GetValue<string>(), Subtask: s["id"]!.GetValue<string>())))
                .ToDictionary(p => p.Component, p => p.Subtask);
            ofComponent.Count.ShouldBe(9); // every component in exactly one subtask
            ofComponent["pose-tracker-1"].ShouldBe(ofComponent["renderer-1"]); // co-located per player
            ofComponent["pose-tracker-1"].ShouldNotBe(ofComponent["pose-tracker-2"]); // different players' access nodes
            ofComponent["game-state"].ShouldNotBe(ofComponent["game-state-replica"]); // anti-affinity

            var (showExit, shown, _) = await host.RunCliAsync("app", appId);
            showExit.ShouldBe(0);
            shown.ShouldContain("[Rejected]", Case.Insensitive);
            shown.ShouldContain("no placement: no schedulable node is registered");
            shown.ShouldContain("why:");

            var broken = await host.Http.PostAsync("/api/apps", new StringContent(
                """{"name":"bad","kind":"complex","components":[{"id":"a","image":"x","cpuCores":-2,"memoryGb":1}],"dependencies":[{"from":"a","to":"ghost"}]}"""));
            broken.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            var problem = JsonNode.Parse(await broken.Content.ReadAsStringAsync())!;
            var paths = problem["errors"]!.AsArray().Select(e => e!["path"]!.GetValue<string>()).ToList();
            paths.ShouldContain("$.components[0].cpuCores");
            paths.ShouldContain("$.dependencies[0].to");

            var (badExit, _, badErr) = await host.RunCliAsync("submit", Path.Combine(data.Path, "missing.json"));
            badExit.ShouldBe(2);
            badErr.ShouldContain("no such file");

            await host.KillAsync();
        }

        await using (var restarted = await HostProcess.StartAsync(data.Path, apiPort))
        {
            var listed = await Eventually.GetAsync(async () =>
            {
                var list = await restarted.GetJsonAsync<JsonObject>("/api/apps");
                return list["count"]!.GetValue<int>() == 1 ? list : null;
            });
            listed["apps"]![0]!["appId"]!.GetValue<string>().ShouldBe(appId);
            var app = await restarted.GetJsonAsync<JsonObject>($"/api/apps/{appId}");
            app["lifecycle"]!.GetValue<string>().ShouldBe("rejected");
            app["history"]!.AsArray().Select(h => h!["lifecycle"]!.GetValue<string>()).ShouldBe(["submitted", "decomposed", "rejected"]);

            var stopped = await restarted.Http.DeleteAsync($"/api/apps/{appId}");
            stopped.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            (await restarted.GetJsonAsync<JsonObject>($"/api/apps/{appId}"))["lifecycle"]!.GetValue<string>().ShouldBe("stopped");
            (await restarted.Http.GetAsync("/api/apps/nope-123")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }
    }
}
