using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ComputeNet.Streams.DeadLetters;
using ComputeNet.Tests.Streams.Telemetry;
using ComputeNet.Tests.TestSupport;
using Confluent.Kafka;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.EndToEnd;

/// <summary>
/// Awareness as a user meets it: the real host on a broker outside it (so kill -9 of the host keeps the
/// topics), kcat registrations and a kcat report with a forged token, telemetry in flight when the host
/// is killed with kill -9, and a restart after which every node's seq accounting is exact.
/// </summary>
public sealed class TelemetryEndToEndTests
{
    private const int Nodes = 8;
    private const int ReportsPerNode = 400;

    [Fact]
    public async Task Kill_9_mid_stream_then_restart_applies_every_report_exactly_once_and_forged_tokens_are_dead_lettered()
    {
        Kcat.Require();
        using var data = new TempDirectory("computenet-e2e-telemetry");
        using var kafka = KcatFleet.StartBroker();
        var apiPort = HostProcess.FreePort();
        string[] hostArgs =
        [
            "--kafka", kafka.BootstrapServers,
            "--ComputeNet:Telemetry:AggregationIntervalMs=200", "--ComputeNet:Telemetry:CheckpointIntervalMs=300",
            "--ComputeNet:Telemetry:SilenceTimeoutMs=600000",
            // A killed member must leave the group quickly for the restarted one to get its partitions.
            "--ComputeNet:Kafka:Client:session.timeout.ms=6000",
        ];

        var ids = Enumerable.Range(0, Nodes).Select(i => $"edge-{i}").ToList();
        await using (var host = await HostProcess.StartAsync(data.Path, apiPort, null, hostArgs))
        {
            var tokens = await KcatFleet.RegisterAsync(kafka.BootstrapServers, ids);

            // A forged report, produced by kcat as an operator would.
            await Kcat.ProduceAsync(kafka.BootstrapServers, "computenet.node-telemetry",
                [$"edge-0|{TelemetryPipelineTests.NodeJson("edge-0", "not-the-token", 999_999)}"]);

            using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 2 }).Build();
            var sending = Task.Run(async () =>
            {
                for (var seq = 1; seq <= ReportsPerNode; seq++)
                {
                    foreach (var id in ids)
                        producer.Produce("computenet.node-telemetry", new Message<string, byte[]>
                            { Key = id, Value = Encoding.UTF8.GetBytes(TelemetryPipelineTests.NodeJson(id, tokens[id], seq, cpu: seq % 16)) });
                    if (seq % 20 == 0) await Task.Delay(50); // a stream, not one burst: the kill lands in the middle of it
                }
                producer.Flush(TimeSpan.FromSeconds(30));
            });

            // Kill once some reports are applied and more are still coming.
            await Eventually.GetAsync(async () => (await Telemetry(host, "edge-0"))["appliedSamples"]!.GetValue<long>() > 20 ? new object() : null, seconds: 60);
            await host.KillAsync();
            await sending;
        }

        await using (var restarted = await HostProcess.StartAsync(data.Path, apiPort, null, hostArgs))
        {
            foreach (var id in ids)
            {
                var view = await Eventually.GetAsync(async () =>
                {
                    var telemetry = await Telemetry(restarted, id);
                    return telemetry["highestSeq"]!.GetValue<long>() == ReportsPerNode ? telemetry : null;
                }, seconds: 90);
                view["appliedSamples"]!.GetValue<long>().ShouldBe(ReportsPerNode, $"{id}: each report applied exactly once");
                view["health"]!.GetValue<string>().ShouldBe("up");
            }

            var node = await restarted.GetJsonAsync<JsonObject>("/api/nodes/edge-3");
            node["health"]!.GetValue<string>().ShouldBe("up");
            node["usage"]!["seq"]!.GetValue<long>().ShouldBe(ReportsPerNode);

            var letters = await Eventually.GetAsync(async () =>
            {
                var records = await Kcat.ConsumeAllAsync(kafka.BootstrapServers, "computenet.deadletter");
                return records.Count >= 1 ? records : null;
            }, seconds: 60);
            // At-least-once: a dead letter written just before the kill is written again by the replay.
            var parsed = letters.Select(line => DeadLetterRecord.FromJsonBytes(Encoding.UTF8.GetBytes(line[(line.IndexOf('|') + 1)..]))).ToList();
            parsed.Select(l => (l.SourcePartition, l.SourceOffset)).Distinct().Count().ShouldBe(1);
            var letter = parsed[0];
            letter.Reason.ShouldBe("agentToken does not match the token provisioned for node 'edge-0'");
            letter.SourceTopic.ShouldBe("computenet.node-telemetry");

            // Lag is observed per assigned partition, so it appears once the restarted consumer's assignment settles.
            // Whole lines: prometheus-net puts the meter's name before every instrument's, so a name must match from the line's start.
            const string lagSeries = "\ncomputenet_telemetry_consumer_lag_records{partition=\"0\",topic=\"computenet.node-telemetry\"}";
            var metrics = await Eventually.GetAsync(async () =>
            {
                var text = await restarted.Http.GetStringAsync("/metrics");
                // Checkpoint figures appear with the first checkpoint after the restart.
                return text.Contains(lagSeries, StringComparison.Ordinal) && text.Contains("\ncomputenet_telemetry_checkpoints_total ", StringComparison.Ordinal) ? text : null;
            }, seconds: 60);
            metrics.ShouldContain("\ncomputenet_nodes{health=\"up\"} 8\n");
            metrics.ShouldContain("\ncomputenet_telemetry_records_total{outcome=\"applied\"} ");
            metrics.ShouldContain("\ncomputenet_telemetry_last_checkpoint_seconds ");
            // The restarted host's checkpoints went through the SQLite journal, in fewer transactions than events.
            var events = MetricValue(metrics, "computenet_journal_events_written_total");
            events.ShouldBeGreaterThan(0);
            MetricValue(metrics, "computenet_journal_transactions_total").ShouldBeInRange(1, events);
            (await restarted.GetJsonAsync<JsonObject>("/api/topology"))["nodes"]!.AsArray().Count.ShouldBe(Nodes);
            await restarted.StopAsync();
        }
    }

    private static double MetricValue(string metrics, string name) =>
        double.Parse(metrics.Split('\n').Single(line => line.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..],
            System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<JsonObject> Telemetry(HostProcess host, string id)
    {
        var response = await host.Http.GetAsync($"/api/nodes/{id}/telemetry");
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonObject>())! : new JsonObject { ["appliedSamples"] = -1L, ["highestSeq"] = -1L };
    }
}
