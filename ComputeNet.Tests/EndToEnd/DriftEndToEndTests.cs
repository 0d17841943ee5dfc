using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ComputeNet.Tests.Actors.Forecasting;
using ComputeNet.Tests.Streams.Telemetry;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// Prediction and drift as an operator meets them: kcat-produced telemetry of two nodes on the real host, one of
/// which loses 40% of its CPU capacity while the other only jitters. One NodeDrifted, persisted (still listed after
/// a restart), published once on computenet.events; forecasts served for both, and rebuilt after the restart.
/// </summary>
public sealed class DriftEndToEndTests
{
    private const int Intervals = 60;
    private const int DropAt = 36;

    [Fact]
    public async Task A_node_losing_40_percent_of_its_capacity_yields_exactly_one_persisted_and_published_NodeDrifted_and_jitter_none()
    {
        Kcat.Require();
        using var data = new TempDirectory("computenet-e2e-drift");
        using var kafka = KcatFleet.StartBroker();
        var apiPort = HostProcess.FreePort();
        string[] hostArgs =
        [
            "--kafka", kafka.BootstrapServers,
            // One-second forecasting intervals so a test can replay a minute of agent time; the drift thresholds keep their defaults.
            "--ComputeNet:Forecast:IntervalMs=1000",
            "--ComputeNet:Telemetry:AggregationIntervalMs=200", "--ComputeNet:Telemetry:CheckpointIntervalMs=300",
            "--ComputeNet:Telemetry:SilenceTimeoutMs=600000",
        ];
        string[] ids = ["edge-drop", "edge-calm"];

        await using (var host = await HostProcess.StartAsync(data.Path, apiPort, null, hostArgs))
        {
            var tokens = await KcatFleet.RegisterAsync(kafka.BootstrapServers, ids);

            // A minute of agent time ending now, two reports per second: 2 ± 0.15 cores used, and on edge-drop
            // 40% of the 16 cores (6.4) taken from interval DropAt on.
            var random = new Random(7);
            var start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000 - Intervals - 1) * 1000;
            var lines = new List<string>();
            for (var i = 0; i < Intervals * 2; i++)
            {
                foreach (var id in ids)
                {
                    var used = 2 + 0.15 * Math.Clamp(SyntheticSeries.Gaussian(random), -3, 3) + (id == "edge-drop" && i / 2 >= DropAt ? 6.4 : 0);
                    lines.Add($"{id}|{TelemetryPipelineTests.NodeJson(id, tokens[id], i + 1, cpu: Math.Round(used, 3), ts: start + i * 500)}");
                }
            }
            await Kcat.ProduceAsync(kafka.BootstrapServers, "computenet.node-telemetry", lines);

            await Eventually.GetAsync(async () =>
            {
                var views = await Task.WhenAll(ids.Select(id => host.GetJsonAsync<JsonObject>($"/api/nodes/{id}/forecast")));
                return views.All(v => v["intervalsObserved"]!.GetValue<long>() == Intervals - 1) ? views : null;
            }, seconds: 60);
            var drifted = await Eventually.GetAsync(async () =>
            {
                var events = await DriftEvents(host);
                return events.Any(e => e.Type == "node-drifted") ? events : null;
            }, seconds: 30);
            AssertOneDrift(drifted);

            var published = await Eventually.GetAsync(async () =>
            {
                var records = await Kcat.ConsumeAllAsync(kafka.BootstrapServers, "computenet.events");
                return records.Any(r => r.Contains("\"node-drifted\"")) ? records : null;
            }, seconds: 30);
            var line = published.Single(r => r.Contains("\"node-drifted\""));
            var record = JsonNode.Parse(line[(line.IndexOf('|') + 1)..])!;
            record["entity"]!.GetValue<string>().ShouldBe("edge-drop");
            record["event"]!["metric"]!.GetValue<string>().ShouldBe("cpu_available_cores");
            // Came-up is a drift event too.
            published.Count(r => r.Contains("\"node-came-up\"")).ShouldBe(ids.Length);

            var forecast = await host.GetJsonAsync<JsonObject>("/api/nodes/edge-drop/forecast");
            var cpu = forecast["metrics"]!.AsArray().Single(m => m!["metric"]!.GetValue<string>() == "cpu_available_cores")!;
            cpu["latest"]!.GetValue<double>().ShouldBe(7.6, 0.5);
            var horizons = cpu["horizons"]!.AsArray();
            horizons.Select(h => h!["horizon"]!.GetValue<int>()).ShouldBe([1, 5, 15]);
            foreach (var h in horizons)
            {
                var (lower, point, upper) = (h!["lower"]!.GetValue<double>(), h["point"]!.GetValue<double>(), h["upper"]!.GetValue<double>());
                lower.ShouldBeGreaterThanOrEqualTo(0);
                upper.ShouldBeLessThanOrEqualTo(16);
                point.ShouldBeInRange(lower, upper);
            }
            await host.StopAsync();
        }

        await using (var restarted = await HostProcess.StartAsync(data.Path, apiPort, null, hostArgs))
        {
            // The drift is a persisted event: listed again from the journal, and not published a second time.
            AssertOneDrift(await Eventually.GetAsync(async () =>
            {
                var events = await DriftEvents(restarted);
                return events.Any(e => e.Type == "node-drifted") ? events : null;
            }, seconds: 60));
            await Task.Delay(TimeSpan.FromSeconds(2)); // give a wrongly restarted publisher the time to republish
            (await Kcat.ConsumeAllAsync(kafka.BootstrapServers, "computenet.events")).Count(r => r.Contains("\"node-drifted\"")).ShouldBe(1);

            // The forecast is rebuilt from the snapshotted history.
            var forecast = await restarted.GetJsonAsync<JsonObject>("/api/nodes/edge-drop/forecast");
            forecast["intervalsObserved"]!.GetValue<long>().ShouldBe(Intervals - 1);
            await restarted.StopAsync();
        }
    }

    private static void AssertOneDrift(IReadOnlyList<(string Type, string Entity, JsonNode Event)> events)
    {
        var drift = events.Where(e => e.Type == "node-drifted").ShouldHaveSingleItem();
        drift.Entity.ShouldBe("edge-drop");
        drift.Event["metric"]!.GetValue<string>().ShouldBe("cpu_available_cores");
        drift.Event["direction"]!.GetValue<string>().ShouldBe("down");
        drift.Event["fromLevel"]!.GetValue<double>().ShouldBe(14, 0.5);
        drift.Event["toLevel"]!.GetValue<double>().ShouldBe(7.6, 0.5);
        drift.Event["statistic"]!.GetValue<double>().ShouldBeGreaterThan(4);
    }

    private static async Task<IReadOnlyList<(string Type, string Entity, JsonNode Event)>> DriftEvents(HostProcess host)
    {
        var response = await host.Http.GetAsync("/api/events?type=drift");
        if (!response.IsSuccessStatusCode) return [];
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return body["events"]!.AsArray()
            .Select(e => (e!["type"]!.GetValue<string>(), e["entity"]!.GetValue<string>(), e["event"]!))
            .ToList();
    }
}
