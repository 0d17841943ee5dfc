using System.Net;
using System.Text.Json.Nodes;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>The self-evolving mode in the running host: opt-in, and visible through its endpoint.</summary>
public sealed class DrlEvolutionEndToEndTests
{
    [Fact]
    public async Task Self_evolving_mode_is_off_by_default_and_when_on_reports_the_shipped_model_and_no_rounds_yet()
    {
        using var offData = new TempDirectory("computenet-drl-off");
        await using (var off = await HostProcess.StartAsync(offData.Path))
        {
            var response = await off.Http.GetAsync("/api/policies/drl/evolution");
            response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await response.Content.ReadAsStringAsync()).ShouldContain("ComputeNet:Drl:SelfEvolving");
        }

        using var onData = new TempDirectory("computenet-drl-on");
        await using var on = await HostProcess.StartAsync(onData.Path, extraArgs: ["--ComputeNet:Drl:SelfEvolving=true"]);
        var view = await on.GetJsonAsync<JsonObject>("/api/policies/drl/evolution");
        view["model"]!.GetValue<string>().ShouldContain("placement-drl.bin");
        view["decisionsRecorded"]!.GetValue<long>().ShouldBe(0);
        view["rounds"]!.GetValue<int>().ShouldBe(0);
        view["swaps"]!.AsArray().ShouldBeEmpty();
    }
}
