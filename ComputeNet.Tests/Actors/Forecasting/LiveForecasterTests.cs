using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Forecasting;

public sealed class LiveForecasterTests
{
    private const long IntervalMs = 1000;
    private static readonly LiveForecastSettings Settings = new() { IntervalMs = IntervalMs, HistoryIntervals = 100 };
    private static readonly IReadOnlyList<LiveMetric> Metrics = [new("cpu_available_cores", 0, 16), new("memory_available_gb", 0, 64)];

    /// <summary>Available cores 14 ± 0.15 (σ) with constant memory, and from <paramref name="dropAt"/> on 40% of the 16 cores gone.</summary>
    private static (long TimestampMs, double[] Values)[] Samples(int intervals, int samplesPerInterval, int? dropAt, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, intervals * samplesPerInterval)
            .Select(i =>
            {
                var interval = i / samplesPerInterval;
                var cpu = 14 + 0.15 * SyntheticSeries.Gaussian(random) - (interval >= dropAt ? 6.4 : 0);
                return (1_795_000_000_000 + i * IntervalMs / samplesPerInterval, new[] { cpu, 56.0 });
            })
            .ToArray();
    }

    private static List<MetricDrift> Feed(LiveForecaster forecaster, IEnumerable<(long TimestampMs, double[] Values)> samples)
    {
        var drifts = new List<MetricDrift>();
        foreach (var (timestamp, values) in samples)
            if (forecaster.Observe(timestamp, values) is { } found) drifts.AddRange(found);
        return drifts;
    }

    [Fact]
    public void A_forty_percent_capacity_loss_yields_exactly_one_drift_of_that_metric_within_three_intervals()
    {
        var drifts = Feed(new LiveForecaster(Metrics, Settings), Samples(80, 3, dropAt: 40, seed: 1));

        var drift = drifts.ShouldHaveSingleItem();
        drift.Metric.ShouldBe("cpu_available_cores");
        drift.Detection.Direction.ShouldBe(DriftDirection.Down);
        drift.Detection.LevelBefore.ShouldBe(14, 0.3);
        drift.Detection.LevelAfter.ShouldBe(7.6, 0.3);
        var dropStart = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000 + 40 * IntervalMs);
        drift.ConfirmedAt.ShouldBeInRange(dropStart, dropStart.AddSeconds(3));
        drift.FirstSeenAt.ShouldBeInRange(dropStart, drift.ConfirmedAt);
    }

    [Fact]
    public void Ordinary_jitter_yields_no_drift()
    {
        Feed(new LiveForecaster(Metrics, Settings), Samples(200, 3, dropAt: null, seed: 2)).ShouldBeEmpty();
    }

    [Fact]
    public void Intervals_follow_the_agents_clock_so_batching_and_sample_rate_do_not_change_the_series()
    {
        var oneSample = new LiveForecaster(Metrics, Settings);
        var fourSamples = new LiveForecaster(Metrics, Settings);
        Feed(oneSample, Samples(60, 1, dropAt: null, seed: 3).Select(s => (s.TimestampMs + 500, s.Values)));
        // The same interval means, each as four equal samples spread over the interval.
        Feed(fourSamples, Samples(60, 1, dropAt: null, seed: 3)
            .SelectMany(s => Enumerable.Range(0, 4).Select(k => (s.TimestampMs + k * 250, s.Values))));

        fourSamples.IntervalsClosed.ShouldBe(oneSample.IntervalsClosed);
        fourSamples.Forecast().ShouldBe(oneSample.Forecast());
    }

    [Fact]
    public void Restoring_from_the_state_gives_the_same_forecasts_and_does_not_report_drifts_again()
    {
        var live = new LiveForecaster(Metrics, Settings);
        var samples = Samples(90, 2, dropAt: 40, seed: 4);
        Feed(live, samples.Take(120)).ShouldHaveSingleItem();

        var restored = LiveForecaster.Restore(live.ToState(), Metrics, Settings);

        restored.ToState().ShouldBe(live.ToState());
        restored.Forecast().ShouldBe(live.Forecast());
        // Both go on identically, and neither re-reports the drift confirmed before the snapshot.
        Feed(restored, samples.Skip(120)).ShouldBeEmpty();
        Feed(live, samples.Skip(120)).ShouldBeEmpty();
        restored.Forecast().ShouldBe(live.Forecast());
    }

    [Fact]
    public void Changed_metrics_start_afresh()
    {
        var live = new LiveForecaster(Metrics, Settings);
        Feed(live, Samples(30, 1, null, seed: 5));

        var restored = LiveForecaster.Restore(live.ToState(), [new("cpu_available_cores", 0, 32), Metrics[1]], Settings);

        restored.IntervalsClosed.ShouldBe(0);
    }

    [Fact]
    public void Forecasts_stay_within_each_metrics_bounds_and_intervals_widen_with_the_horizon()
    {
        var gen = from length in Gen.Choose(1, 300)
                  from raw in Gen.ArrayOf(Gen.Choose(-100, 2000), length)
                  select raw;
        Prop.ForAll(gen.ToArbitrary(), raw =>
        {
            var forecaster = new LiveForecaster(Metrics, Settings with { Horizons = [1, 5, 15] });
            for (var i = 0; i < raw.Length; i++) forecaster.Observe(i * IntervalMs, [raw[i] / 100.0, raw[i] / 25.0]);
            return forecaster.Forecast().Zip(Metrics).All(pair =>
            {
                var (forecast, metric) = pair;
                var widths = forecast.Horizons.Select(h => h.Width).ToArray();
                return forecast.Horizons.All(h => h.Lower >= metric.Minimum && h.Upper <= metric.Maximum && h.Lower <= h.Point && h.Point <= h.Upper)
                       && widths.Zip(widths.Skip(1)).All(w => w.Item2 >= w.Item1 - 1e-9);
            });
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_node_forecaster_makes_its_models_only_when_its_first_interval_closes()
    {
        // 10,000 nodes must fit the ingest memory budget: candidate models share one history per metric and
        // allocate their rolling-origin bookkeeping only once they can forecast on their own terms, and those that read the
        // shared history never make one of their own. Before the first interval closes there are no models at all.
        LiveMetric[] nodeMetrics = [new("cpu_available_cores", 0, 16), new("memory_available_gb", 0, 64), new("gpu_available", 0, 1)];
        var settings = new LiveForecastSettings();
        double[] values = [8, 32, 0.5];
        var interval = settings.IntervalMs;
        // JIT and static initialisers outside the measurement.
        var warm = new LiveForecaster(nodeMetrics, settings);
        warm.Observe(0, values);
        warm.Observe(interval, values);
        const int Count = 1000;
        var kept = new LiveForecaster[Count];

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Count; i++)
        {
            kept[i] = new LiveForecaster(nodeMetrics, settings);
            kept[i].Observe(1, values);
            kept[i].Observe(2, values);
        }
        var sampling = (GC.GetAllocatedBytesForCurrentThread() - before) / Count;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Count; i++) kept[i].Observe(interval + 1, values); // closes interval 0
        var firstInterval = (GC.GetAllocatedBytesForCurrentThread() - before) / Count;
        GC.KeepAlive(kept);

        kept[0].IntervalsClosed.ShouldBe(1);
        sampling.ShouldBeLessThan(1024); // the metrics, the open sums and the queue, no models
        // 28,656 bytes: the models (12.4 KB fresh; 15.1 KB while every candidate also made a history of its own) and their first update.
        firstInterval.ShouldBeLessThan(30 * 1024);
    }
}
