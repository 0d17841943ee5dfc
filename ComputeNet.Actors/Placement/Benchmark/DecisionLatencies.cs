using System.Diagnostics;

namespace ComputeNet.Actors.Placement.Benchmark;

/// <summary>Wall-clock and thread-CPU time of a series of decisions, and their p50 / p99.</summary>
internal sealed class DecisionLatencies
{
    private readonly List<double> _wallMs = [];
    private readonly List<double> _cpuMs = [];

    public T Time<T>(Func<T> decide)
    {
        var started = Stopwatch.GetTimestamp();
        var cpuStarted = ThreadCpuClock.NowMs();
        var result = decide();
        _cpuMs.Add(ThreadCpuClock.NowMs() - cpuStarted);
        _wallMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return result;
    }

    public double WallP50 => PlacementBenchmark.Percentile(_wallMs, 0.5);

    public double WallP99 => PlacementBenchmark.Percentile(_wallMs, 0.99);

    public double CpuP50 => PlacementBenchmark.Percentile(_cpuMs, 0.5);

    public double CpuP99 => PlacementBenchmark.Percentile(_cpuMs, 0.99);
}
