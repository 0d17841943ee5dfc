using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Forecasting;

/// <summary>Runs the benchmarks on real traces from shared/data with weak, honest bounds (the targets are reported, not asserted).</summary>
public sealed class BenchmarkTests(ITestOutputHelper output)
{
    private static IReadOnlyList<TraceSeries> Load(string fileName)
    {
        var path = SharedData.Available ? SharedData.Path("usage", fileName) : null;
        Assert.SkipWhen(path is null, $"shared/data/usage/{fileName} is not on this machine");
        return TraceCsv.Load(path!);
    }

    [Fact]
    public void Trace_loader_reads_every_usage_format_at_300_s()
    {
        var folder = SharedData.Available ? SharedData.Path() : null;
        Assert.SkipWhen(folder is null, "shared/data is not on this machine");
        var series = TraceCsv.LoadDirectory(Path.Combine(folder!, "usage"));

        series.Select(s => s.Name.Split('/')[0]).Distinct().ShouldBe(
            ["alibaba2018_cluster", "alibaba2018", "azure2017", "azure2019", "bitbrains", "google2019_cell", "planetlab"], ignoreOrder: true);
        series.Count(s => s.Name.StartsWith("alibaba2018/", StringComparison.Ordinal)).ShouldBe(16); // 8 machines × cpu, mem
        series.Single(s => s.Name == "google2019_cell/avg_cpu").Values.Length.ShouldBe(8064);
        // 8,262 samples ~300 s apart over 8,640 buckets: the buckets a jittered timestamp skips are left out, not filled.
        series.Single(s => s.Name == "bitbrains/vm333/cpu").Values.Length.ShouldBe(8262);
        // Alibaba samples ~95 s apart over 8 days fill 2,100 of m_1933's 2,304 buckets of 300 s.
        series.Single(s => s.Name == "alibaba2018/m_1933/cpu").Values.Length.ShouldBe(2100);
        series.ShouldAllBe(s => s.Values.All(double.IsFinite) && s.Values.All(v => v >= 0));
    }

    [Fact]
    public void Buckets_average_their_samples_and_leave_empty_buckets_out()
    {
        // Buckets 0, 1 and 3 have samples, bucket 2 has none: it is skipped, not filled with bucket 1's mean.
        double[] times = [10, 250, 310, 1000];
        double[] values = [1, 3, 8, 20];

        TraceCsv.Bucket(times, values).ShouldBe([2.0, 8.0, 20.0]);
    }

    [Fact]
    public void Adaptive_forecaster_beats_naive_at_one_step_on_a_real_trace()
    {
        var series = Load("azure2017_vm_cpu_10vms_28days.csv");
        var result = ForecastBenchmark.Run(series, [1, 5, 15]);
        output.WriteLine(result.ToJson());

        result.SeriesEvaluated.ShouldBe(10);
        result.Adaptive.At(1).Mase.ShouldBeLessThan(1.0);
        result.Adaptive.At(1).Mase.ShouldBeLessThan(result.Model("naive").At(1).Mase);
        foreach (var horizon in new[] { 1, 5, 15 })
            result.Adaptive.At(horizon).Mase.ShouldBeLessThan(result.Model("seasonal_naive").At(horizon).Mase);
        result.Adaptive.At(1).Coverage90.ShouldBeInRange(0.8, 0.98);
        var fields = result.SummaryFields();
        fields.Keys.ShouldBe(["mase_h1", "seasonal_naive_mase_h1", "mase_h5", "seasonal_naive_mase_h5", "mase_h15", "seasonal_naive_mase_h15", "coverage90", "update_us"], ignoreOrder: true);
    }

    [Fact]
    public void Drift_benchmark_detects_most_injected_drops_on_a_real_trace()
    {
        var series = Load("google2019_cell_avg_usage_300s_month.csv");
        var result = DriftBenchmark.Run(series);
        output.WriteLine(result.ToJson());

        result.Injections.ShouldBeGreaterThan(10);
        result.DetectionRate.ShouldBeGreaterThan(0.5);
        result.MedianDelayIntervals.ShouldBeLessThanOrEqualTo(3);
    }
}
