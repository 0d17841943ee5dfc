using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Nodes;

/// <summary>What is forecast per node: available CPU cores and memory, and available GPUs where the node has any.</summary>
public static class NodeMetrics
{
    public const string CpuAvailableCores = "cpu_available_cores";
    public const string MemoryAvailableGb = "memory_available_gb";
    public const string GpuAvailable = "gpu_available";

    public static int Count(NodeSpec spec) => spec.Gpus > 0 ? 3 : 2;

    public static IReadOnlyList<LiveMetric> Of(NodeSpec spec) => spec.Gpus > 0
        ? [new(CpuAvailableCores, 0, spec.CpuCores), new(MemoryAvailableGb, 0, spec.MemoryGb), new(GpuAvailable, 0, spec.Gpus)]
        : [new(CpuAvailableCores, 0, spec.CpuCores), new(MemoryAvailableGb, 0, spec.MemoryGb)];

    /// <summary>
    /// What the node's other work leaves free, by the least point forecast over the horizons per forecast metric (agents
    /// report the node's use by everything but ComputeNet's subtasks); storage (not forecast) and metrics without a forecast
    /// yet stay at the registered capacity. Null when nothing is forecast yet.
    /// </summary>
    public static Placement.Resources? ForecastAvailable(NodeSpec spec, IReadOnlyList<MetricForecast> forecasts)
    {
        var cpu = MetricForecast.Lowest(forecasts, CpuAvailableCores);
        var memory = MetricForecast.Lowest(forecasts, MemoryAvailableGb);
        var gpus = MetricForecast.Lowest(forecasts, GpuAvailable);
        if (cpu is null && memory is null && gpus is null) return null;
        return new Placement.Resources(Math.Max(cpu ?? spec.CpuCores, 0), Math.Max(memory ?? spec.MemoryGb, 0), spec.StorageGb, Math.Max(gpus ?? spec.Gpus, 0));
    }

    /// <summary>Capacity minus use, in <see cref="Of"/> order; written into a caller's buffer (no allocation per sample).</summary>
    public static void Available(NodeSpec spec, NodeUsageSample sample, Span<double> destination)
    {
        destination[0] = spec.CpuCores - sample.CpuUsedCores;
        destination[1] = spec.MemoryGb - sample.MemoryUsedGb;
        if (spec.Gpus > 0) destination[2] = spec.Gpus - sample.GpuUsed;
    }
}
