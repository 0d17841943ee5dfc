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
    /// The least point forecast over the horizons, per forecast metric; storage (not forecast) and metrics
    /// without a forecast yet stay at the registered capacity. Null when nothing is forecast yet.
    /// </summary>
    public static Placement.Resources? ForecastAvailable(NodeSpec spec, IReadOnlyList<MetricForecast> forecasts)
    {
        double cpu = spec.CpuCores, memory = spec.MemoryGb, gpus = spec.Gpus;
        var any = false;
        foreach (var forecast in forecasts)
        {
            if (forecast.Horizons.Count == 0) continue;
            any = true;
            var least = forecast.Horizons.Min(h => h.Point);
            switch (forecast.Metric)
            {
                case CpuAvailableCores: cpu = least; break;
                case MemoryAvailableGb: memory = least; break;
                case GpuAvailable: gpus = least; break;
            }
        }
        return any ? new Placement.Resources(Math.Max(cpu, 0), Math.Max(memory, 0), spec.StorageGb, Math.Max(gpus, 0)) : null;
    }

    /// <summary>Capacity minus use, in <see cref="Of"/> order; written into a caller's buffer (no allocation per sample).</summary>
    public static void Available(NodeSpec spec, NodeUsageSample sample, Span<double> destination)
    {
        destination[0] = spec.CpuCores - sample.CpuUsedCores;
        destination[1] = spec.MemoryGb - sample.MemoryUsedGb;
        if (spec.Gpus > 0) destination[2] = spec.Gpus - sample.GpuUsed;
    }
}
