using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Nodes;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Nodes;

/// <summary>A forecast checkpoint carries the metrics only when the durable state may lack them or hold others.</summary>
public sealed class ForecastCheckpointTests
{
    private static readonly LiveMetric[] Metrics = [new("cpu_available_cores", 0, 8), new("memory_available_gb", 0, 32)];

    private static LiveForecastState Live(long openInterval, params ClosedInterval[] history) =>
        new(Metrics, openInterval, [1.0, 2.0], 3, history);

    [Fact]
    public void A_checkpoint_without_metrics_keeps_the_durable_ones_and_a_replay_rebuilds_the_same_state()
    {
        var first = ForecastCheckpoint.Of(Live(5, new ClosedInterval(4, [3, 4])), closedSinceLast: 1, historyLimit: 288, replace: true, withMetrics: true);
        var second = ForecastCheckpoint.Of(Live(7, new ClosedInterval(4, [3, 4]), new ClosedInterval(5, [5, 6]), new ClosedInterval(6, [7, 8])),
            closedSinceLast: 2, historyLimit: 288, replace: false, withMetrics: false);
        first.Metrics.ShouldBe(Metrics);
        second.Metrics.ShouldBeNull();

        var durable = second.ApplyTo(first.ApplyTo(LiveForecastState.Empty));

        durable.Metrics.ShouldBe(Metrics);
        durable.OpenInterval.ShouldBe(7);
        durable.History.Select(h => h.Interval).ShouldBe([4L, 5L, 6L]);
    }

    [Fact]
    public void A_reset_telemetry_checkpoint_carries_the_metrics_even_for_the_same_forecaster()
    {
        var checkpoint = new NodeTelemetryCheckpointed("n1", 1, 1, null, [], 60, Reset: true,
            ForecastCheckpoint.Of(Live(9), closedSinceLast: 0, historyLimit: 288, replace: false, withMetrics: true));
        var before = new NodeTelemetryJournalState(NodeTelemetryState.Empty, Live(3) with { Metrics = [new("cpu_available_cores", 0, 4)] });

        checkpoint.ApplyTo(before).Forecast.Metrics.ShouldBe(Metrics);
    }
}
