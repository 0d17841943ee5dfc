using System.Text.Json;

namespace ComputeNet.Actors.Forecasting.Drift;

/// <summary>One injected step: the series, where it starts, and when (if) it was confirmed.</summary>
public sealed record InjectedStep(string Series, string Kind, long ChangeInterval, long? ConfirmedInterval, bool DetectedInTime);

public sealed record DriftBenchmarkResult(
    double DetectionRate,
    double MedianDelayIntervals,
    double FalseAlarmsPerSeriesDay,
    double DoublingDetectionRate,
    double DoublingMedianDelayIntervals,
    int Injections,
    double UntouchedSeriesDays,
    int NoOpInjections,
    IReadOnlyList<InjectedStep> Steps)
{
    public string ToJson() => JsonSerializer.Serialize(new
    {
        detection_rate = DetectionRate,
        median_delay_intervals = MedianDelayIntervals,
        false_alarms_per_series_day = FalseAlarmsPerSeriesDay,
        doubling_detection_rate = DoublingDetectionRate,
        doubling_median_delay_intervals = DoublingMedianDelayIntervals,
        injections = Injections,
        untouched_series_days = UntouchedSeriesDays,
        no_op_injections_skipped = NoOpInjections,
    }, new JsonSerializerOptions { WriteIndented = true });
}

public sealed record DriftBenchmarkOptions
{
    public DriftDetectorOptions Detector { get; init; } = new();

    /// <summary>Untouched intervals a fresh detector sees before the step (288 = one day at 300 s).</summary>
    public int LeadIntervals { get; init; } = 288;

    /// <summary>A step counts as detected when confirmed at most this many intervals after it starts.</summary>
    public int DetectionWindowIntervals { get; init; } = 3;

    /// <summary>Spacing of injection points along a series (576 = two days).</summary>
    public int InjectionSpacingIntervals { get; init; } = 576;

    /// <summary>Available capacity keeps this fraction after a drop (0.7 = a 30% drop).</summary>
    public double DropFactor { get; init; } = 0.7;

    /// <summary>Latency-like series are multiplied by this (2 = doubling).</summary>
    public double LatencyFactor { get; init; } = 2.0;
}

/// <summary>
/// Injects known steps into real trace segments and measures the detector: 30% drops of available
/// capacity (capacity − used), doublings of a latency-like positive series (the used series stands in,
/// as the traces hold no latency), and false alarms when run over whole untouched series.
/// </summary>
public static class DriftBenchmark
{
    public static DriftBenchmarkResult Run(IReadOnlyList<TraceSeries> series, DriftBenchmarkOptions? options = null)
    {
        options ??= new DriftBenchmarkOptions();
        var steps = new List<InjectedStep>();
        long falseAlarms = 0;
        var noOpInjections = 0;
        var seriesDays = 0.0;

        foreach (var trace in series)
        {
            var available = trace.Available();
            var latencyLike = trace.Values;

            falseAlarms += CountAlarms(trace.Name, available, options.Detector);
            seriesDays += available.Length * (double)trace.IntervalSeconds / 86400;

            for (var change = options.LeadIntervals; change + options.DetectionWindowIntervals < available.Length; change += options.InjectionSpacingIntervals)
            {
                // Scaling a series that sits at zero injects nothing (e.g. a VM using all of its CPU has no available
                // capacity to lose): such points are counted apart, not scored as missed steps.
                if (IsFlatZero(available, change, options)) noOpInjections++;
                else steps.Add(Inject(trace.Name, "drop", available, change, options.DropFactor, DriftDirection.Down, options));
                if (IsFlatZero(latencyLike, change, options)) noOpInjections++;
                else steps.Add(Inject(trace.Name, "double", latencyLike, change, options.LatencyFactor, DriftDirection.Up, options));
            }
        }

        var drops = steps.Where(s => s.Kind == "drop").ToArray();
        var doublings = steps.Where(s => s.Kind == "double").ToArray();
        return new DriftBenchmarkResult(
            Rate(drops),
            MedianDelay(drops),
            seriesDays > 0 ? falseAlarms / seriesDays : 0,
            Rate(doublings),
            MedianDelay(doublings),
            drops.Length,
            seriesDays,
            noOpInjections,
            steps);
    }

    private static long CountAlarms(string name, double[] values, DriftDetectorOptions options)
    {
        var detector = new CusumDriftDetector(name, options);
        long alarms = 0;
        for (var t = 0; t < values.Length; t++)
            if (detector.Observe(t, values[t]) is not null) alarms++;
        return alarms;
    }

    private static InjectedStep Inject(string name, string kind, double[] values, int change, double factor, DriftDirection expected, DriftBenchmarkOptions options)
    {
        // A fresh detector on the segment [change − lead, change + window]: the lead is untouched trace.
        var detector = new CusumDriftDetector(name, options.Detector);
        // Run past the window so the delay of late detections is still measured.
        var end = Math.Min(values.Length - 1, change + 12 * options.DetectionWindowIntervals);
        for (var t = change - options.LeadIntervals; t <= end; t++)
        {
            var value = t >= change ? values[t] * factor : values[t];
            var drift = detector.Observe(t, value);
            if (drift is null || t < change) continue; // alarms before the step are the detector's false alarms, counted elsewhere
            if (drift.Direction != expected) continue;
            return new InjectedStep(name, kind, change, t, t - change <= options.DetectionWindowIntervals);
        }
        return new InjectedStep(name, kind, change, null, false);
    }

    /// <summary>True when the series is zero over the step's window (the change point and the detection window after it).</summary>
    private static bool IsFlatZero(double[] values, int change, DriftBenchmarkOptions options)
    {
        for (var t = change; t <= Math.Min(values.Length - 1, change + options.DetectionWindowIntervals); t++)
            if (values[t] != 0) return false;
        return true;
    }

    private static double Rate(InjectedStep[] steps) => steps.Length == 0 ? double.NaN : steps.Count(s => s.DetectedInTime) / (double)steps.Length;

    private static double MedianDelay(InjectedStep[] steps)
    {
        var delays = steps.Where(s => s.ConfirmedInterval is not null).Select(s => (double)(s.ConfirmedInterval!.Value - s.ChangeInterval)).ToArray();
        return delays.Length == 0 ? double.NaN : RobustStatistics.MedianInPlace(delays);
    }
}
