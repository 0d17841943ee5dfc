using ComputeNet.Actors.Forecasting.Drift;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Forecasting;

public sealed class DriftDetectorTests
{
    private static List<DriftDetected> Run(CusumDriftDetector detector, double[] series)
    {
        var drifts = new List<DriftDetected>();
        for (var t = 0; t < series.Length; t++)
            if (detector.Observe(t, series[t]) is { } drift) drifts.Add(drift);
        return drifts;
    }

    [Fact]
    public void A_thirty_percent_capacity_drop_fires_exactly_once_within_three_intervals()
    {
        // Available cores: 64 ± 2 for a day, then 30% less.
        var series = SyntheticSeries.Jitter(600, 64, 2, seed: 11);
        for (var t = 300; t < series.Length; t++) series[t] *= 0.7;

        var drifts = Run(new CusumDriftDetector("node-7/available_cpu_cores"), series);

        drifts.Count.ShouldBe(1);
        var drift = drifts[0];
        drift.MetricName.ShouldBe("node-7/available_cpu_cores");
        drift.Direction.ShouldBe(DriftDirection.Down);
        drift.ConfirmedInterval.ShouldBeInRange(300, 303);
        drift.FirstSeenInterval.ShouldBeInRange(300, drift.ConfirmedInterval);
        drift.LevelBefore.ShouldBe(64, 2);
        drift.LevelAfter.ShouldBe(64 * 0.7, 3);
        drift.Statistic.ShouldBeGreaterThan(new DriftDetectorOptions().TriggerSigmas);
    }

    [Fact]
    public void A_latency_doubling_is_an_upward_drift()
    {
        var series = SyntheticSeries.Jitter(400, 20, 1.5, seed: 12);
        for (var t = 200; t < series.Length; t++) series[t] *= 2;

        var drifts = Run(new CusumDriftDetector("link a-b/latency_ms"), series);

        drifts.Count.ShouldBe(1);
        drifts[0].Direction.ShouldBe(DriftDirection.Up);
        drifts[0].ConfirmedInterval.ShouldBeInRange(200, 203);
        // The level after comes from the two or three confirming observations only, so it carries their noise (σ = 3 after doubling).
        drifts[0].LevelAfter.ShouldBe(40, 6);
    }

    [Fact]
    public void Jitter_with_the_same_variance_raises_no_drift()
    {
        foreach (var seed in Enumerable.Range(100, 10))
        {
            var series = SyntheticSeries.Jitter(2880, 64, 2, seed);
            Run(new CusumDriftDetector("jitter"), series).ShouldBeEmpty($"seed {seed}");
        }
    }

    [Fact]
    public void A_single_spike_does_not_confirm_a_drift()
    {
        var series = SyntheticSeries.Jitter(400, 64, 2, seed: 13);
        series[200] = 5;
        series[300] = 200;
        Run(new CusumDriftDetector("spiky"), series).ShouldBeEmpty();
    }

    [Fact]
    public void A_shift_smaller_than_the_materiality_threshold_is_absorbed()
    {
        // A 5% shift on a very quiet series is statistically clear but not worth rescheduling for.
        var series = SyntheticSeries.Jitter(600, 100, 0.2, seed: 14);
        for (var t = 300; t < series.Length; t++) series[t] *= 0.95;
        Run(new CusumDriftDetector("quiet"), series).ShouldBeEmpty();
    }

    [Fact]
    public void Residual_series_drift_is_detected_with_the_materiality_gate_off()
    {
        // Forecast residuals: zero-mean noise, then the node under-delivers by 6 units.
        var residuals = SyntheticSeries.Jitter(350, 0, 1, seed: 15);
        for (var t = 250; t < residuals.Length; t++) residuals[t] -= 6;
        var detector = new CusumDriftDetector("node-7/cpu_forecast_residual", new DriftDetectorOptions { MinimumRelativeChange = 0 });

        var drifts = Run(detector, residuals);

        drifts.Count.ShouldBe(1);
        drifts[0].ConfirmedInterval.ShouldBeInRange(250, 253);
        drifts[0].LevelAfter.ShouldBe(-6, 2.5);
    }

    [Fact]
    public void Hysteresis_keeps_a_suspicion_open_between_the_clear_and_trigger_levels()
    {
        var detector = new CusumDriftDetector("h", new DriftDetectorOptions { PersistenceIntervals = 50 });
        foreach (var t in Enumerable.Range(0, 100)) detector.Observe(t, 50 + (t % 2 == 0 ? 1 : -1));
        detector.State.ShouldBe(DriftState.Normal);
        detector.Observe(100, 40);
        detector.Observe(101, 40);
        detector.State.ShouldBe(DriftState.Suspected);
        detector.Observe(102, 50); // back to normal once: the statistic decays but stays above the all-clear level
        detector.State.ShouldBe(DriftState.Suspected);
    }

    [Fact]
    public void Options_reject_a_clear_level_above_the_trigger()
    {
        Should.Throw<ArgumentException>(() => new CusumDriftDetector("x", new DriftDetectorOptions { ClearSigmas = 5, TriggerSigmas = 4 }));
    }
}
