using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;
using ComputeNet.Actors.Topology;
using ComputeNet.Host.Hosting;
using ComputeNet.Tests.Actors.Forecasting;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;
using static ComputeNet.Actors.Topology.TopologyCommands;
using static ComputeNet.Actors.Topology.TopologyReplies;

namespace ComputeNet.Tests.Actors.Topology;

/// <summary>
/// Link forecasting and drift in the topology actor on the host's SQLite persistence: a latency doubling is one
/// persisted LinkDrifted; after a crash, telemetry replayed from the last checkpoint re-confirms it without a second event.
/// </summary>
public sealed class LinkDriftTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly TopologyActorSettings Settings = new() { SilenceTimeout = TimeSpan.FromHours(1), Forecast = new LiveForecastSettings { IntervalMs = 1000 } };
    private readonly TempDirectory _dir = new("computenet-link-drift");

    public void Dispose() => _dir.Dispose();

    private async Task<T> WithTopology<T>(Func<ActorSystem, IActorRef, Task<T>> use)
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        return await HostedActorSystem.RunAsync("topology", db, system => use(system, system.ActorOf(TopologyActor.Props(Settings, TimeProvider.System))));
    }

    /// <summary>Latency 10 ms ± 0.3, doubled from interval 40 on; one report per one-second interval.</summary>
    private static LinkSample[] Samples()
    {
        var random = new Random(3);
        return Enumerable.Range(0, 60)
            .Select(i => new LinkSample(i + 1, 1_795_000_000_000 + i * 1000L, 1000, 600 + 5 * SyntheticSeries.Gaussian(random),
                (i >= 40 ? 20 : 10) + 0.3 * SyntheticSeries.Gaussian(random), 0.001, true))
            .ToArray();
    }

    private static async Task<List<object>> DriftEvents(ActorSystem system) =>
        (await PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByTag(EventTags.Drift, Offset.NoOffset())
            .RunWith(Sink.Seq<EventEnvelope>(), system.Materializer()))
        .Select(e => e.Event).ToList();

    [Fact]
    public async Task A_latency_doubling_is_one_LinkDrifted_even_when_telemetry_after_the_checkpoint_is_replayed()
    {
        var samples = Samples();
        var drifts = await WithTopology(async (system, topology) =>
        {
            await topology.Ask<LinkTelemetryRecorded>(new RecordLinkTelemetry("edge-1", "cloud-1", "edge-1", samples[..30]), Timeout);
            await topology.Ask<TopologyCheckpointed>(new CheckpointTopology(), Timeout);
            // The rest is applied but never checkpointed: a crash now makes the stream deliver it again.
            foreach (var chunk in samples[30..].Chunk(7))
                await topology.Ask<LinkTelemetryRecorded>(new RecordLinkTelemetry("edge-1", "cloud-1", "edge-1", chunk), Timeout);
            return await DriftEvents(system);
        });
        var drift = drifts.OfType<TopologyEvents.LinkDrifted>().ShouldHaveSingleItem();
        drift.Metric.ShouldBe(LinkMetrics.LatencyMs);
        drift.FromLevel.ShouldBe(10, 0.5);
        drift.ToLevel.ShouldBe(20, 1);
        drift.ConfirmedAt.ShouldBeInRange(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_040_000), DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_043_000));

        var (afterReplay, forecast) = await WithTopology(async (system, topology) =>
        {
            foreach (var chunk in samples[30..].Chunk(11))
                (await topology.Ask<LinkTelemetryRecorded>(new RecordLinkTelemetry("edge-1", "cloud-1", "edge-1", chunk), Timeout)).Applied.ShouldBe(chunk.Length);
            var view = await topology.Ask<LinkForecastView>(new TopologyQueries.GetLinkForecast("edge-1", "cloud-1"), Timeout);
            return (await DriftEvents(system), view);
        });
        afterReplay.OfType<TopologyEvents.LinkDrifted>().ShouldHaveSingleItem();
        forecast.IntervalsObserved.ShouldBe(59);
        var latency = forecast.Metrics.Single(m => m.Metric == LinkMetrics.LatencyMs);
        latency.Latest!.Value.ShouldBe(20, 1.5);
        latency.Horizons.Select(h => h.Horizon).ShouldBe([1, 5, 15]);
        forecast.Metrics.Single(m => m.Metric == LinkMetrics.BandwidthAvailableMbps).Horizons.ShouldAllBe(h => h.Lower >= 0 && h.Upper <= 1000);
    }
}
