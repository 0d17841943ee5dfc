using ComputeNet.Actors.Forecasting.Drift;

namespace ComputeNet.Actors.Forecasting;

/// <summary>How the running system forecasts and watches an entity's metrics (one set per node, one per link).</summary>
public sealed record LiveForecastSettings
{
    /// <summary>Forecasting interval in the agents' clock: samples are averaged per interval (300 000 = 5 min, what the defaults are tuned for).</summary>
    public long IntervalMs { get; init; } = 300_000;

    /// <summary>Horizons served, in intervals.</summary>
    public IReadOnlyList<int> Horizons { get; init; } = [1, 5, 15];

    /// <summary>Closed intervals kept per entity (and snapshotted): what the forecasters are rebuilt from after a restart.</summary>
    public int HistoryIntervals { get; init; } = 288;

    /// <summary>Models, season and refit cadence; the bounds are set per metric.</summary>
    public AdaptiveForecasterOptions Forecaster { get; init; } = new();

    /// <summary>Thresholds of the drift detector on every metric.</summary>
    public DriftDetectorOptions Detector { get; init; } = new();

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(IntervalMs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(HistoryIntervals, 1);
        if (Horizons.Count == 0 || Horizons.Any(h => h < 1)) throw new ArgumentException("horizons must be ≥ 1 interval");
        Detector.Validate();
    }
}

/// <summary>One forecast series of an entity: its name (with unit) and physical range, e.g. ("cpu_available_cores", [0, 16]).</summary>
public sealed record LiveMetric(string Name, double Minimum, double Maximum)
{
    public ForecastBounds Bounds => new(Minimum, Maximum);
}

/// <summary>One closed interval: its index (agent time / interval length) and the mean of each metric over it.</summary>
public sealed record ClosedInterval(long Interval, IReadOnlyList<double> Values)
{
    public bool Equals(ClosedInterval? other) => other is not null && Interval == other.Interval && Values.SequenceEqual(other.Values);

    public override int GetHashCode() => HashCode.Combine(Interval, Values.Count);
}

/// <summary>
/// What survives a restart of an entity's forecasting: the metrics, the interval being filled, and the bounded
/// history of closed intervals. The forecasters and detectors are rebuilt from it deterministically.
/// </summary>
public sealed record LiveForecastState(
    IReadOnlyList<LiveMetric> Metrics,
    long OpenInterval,
    IReadOnlyList<double> OpenSums,
    int OpenSamples,
    IReadOnlyList<ClosedInterval> History)
{
    public static LiveForecastState Empty { get; } = new([], -1, [], 0, []);

    public bool Equals(LiveForecastState? other) =>
        other is not null && Metrics.SequenceEqual(other.Metrics) && OpenInterval == other.OpenInterval && OpenSums.SequenceEqual(other.OpenSums)
        && OpenSamples == other.OpenSamples && History.SequenceEqual(other.History);

    public override int GetHashCode() => HashCode.Combine(Metrics.Count, OpenInterval, History.Count);
}

/// <summary>A drift the detector of one metric confirmed, with the agent-clock times of its intervals.</summary>
public sealed record MetricDrift(string Metric, DriftDetected Detection, DateTimeOffset FirstSeenAt, DateTimeOffset ConfirmedAt);

/// <summary>The forecast of one metric: the latest closed interval's value and, per horizon, the point and 90% interval.</summary>
public sealed record MetricForecast(string Metric, double? Latest, IReadOnlyList<ForecastPoint> Horizons, IReadOnlyList<string> Models)
{
    /// <summary>The least point forecast over the horizons of <paramref name="metric"/> (null = not forecast yet): what a planner bounds free compute by.</summary>
    public static double? Lowest(IEnumerable<MetricForecast> forecasts, string metric) =>
        forecasts.FirstOrDefault(f => f.Metric == metric) is { Horizons.Count: > 0 } f ? f.Horizons.Min(h => h.Point) : null;

    /// <summary>The greatest point forecast over the horizons of <paramref name="metric"/> (null = not forecast yet), e.g. a link's worst latency.</summary>
    public static double? Highest(IEnumerable<MetricForecast> forecasts, string metric) =>
        forecasts.FirstOrDefault(f => f.Metric == metric) is { Horizons.Count: > 0 } f ? f.Horizons.Max(h => h.Point) : null;

    public bool Equals(MetricForecast? other) =>
        other is not null && Metric == other.Metric && Latest == other.Latest && Horizons.SequenceEqual(other.Horizons) && Models.SequenceEqual(other.Models);

    public override int GetHashCode() => HashCode.Combine(Metric, Latest, Horizons.Count);
}

/// <summary>
/// Live forecasting and drift detection for one entity (a node or a link), fed by its telemetry samples. Pure
/// and single-threaded: samples are averaged per interval of the agent's clock (so how the stream batches them
/// does not matter), and each closed interval updates every metric's <see cref="AdaptiveForecaster"/> and
/// <see cref="CusumDriftDetector"/> once. A sample costs a few additions; an interval costs one forecaster update per metric.
/// Samples later than the open interval's start are folded into it; gaps are skipped, not filled.
/// </summary>
public sealed class LiveForecaster
{
    private readonly LiveForecastSettings _settings;
    private readonly LiveMetric[] _metrics;
    // Made when the first interval closes: until then a node only sums samples, and 10,000 freshly reporting nodes do
    // not bring 10,000 sets of models (~12 KB each) into the first telemetry window.
    private AdaptiveForecaster[]? _forecasters;
    private CusumDriftDetector[]? _detectors;
    private readonly double[] _openSums;
    private readonly Queue<ClosedInterval> _history = new();
    private long _openInterval = -1;
    private int _openSamples;

    public LiveForecaster(IReadOnlyList<LiveMetric> metrics, LiveForecastSettings settings)
    {
        settings.Validate();
        _settings = settings;
        _metrics = [.. metrics];
        _openSums = new double[_metrics.Length];
    }

    public IReadOnlyList<LiveMetric> Metrics => _metrics;

    /// <summary>Closed intervals seen (including those replayed from a snapshot).</summary>
    public long IntervalsClosed { get; private set; }

    /// <summary>
    /// Rebuilds the forecaster from a snapshot by replaying its history; drifts found while replaying were
    /// reported before the snapshot and are not reported again. Metrics that differ from the snapshot's
    /// (e.g. a node re-registered with other capacities) start afresh.
    /// </summary>
    public static LiveForecaster Restore(LiveForecastState state, IReadOnlyList<LiveMetric> metrics, LiveForecastSettings settings)
    {
        var forecaster = new LiveForecaster(metrics, settings);
        if (!state.Metrics.SequenceEqual(metrics)) return forecaster;
        foreach (var closed in state.History.TakeLast(settings.HistoryIntervals)) forecaster.Close(closed, detect: false);
        if (state.OpenInterval >= 0 && state.OpenSums.Count == metrics.Count)
        {
            forecaster._openInterval = state.OpenInterval;
            forecaster._openSamples = state.OpenSamples;
            for (var i = 0; i < metrics.Count; i++) forecaster._openSums[i] = state.OpenSums[i];
        }
        return forecaster;
    }

    /// <summary>
    /// Adds one sample (one value per metric, in <see cref="Metrics"/> order) taken at <paramref name="timestampMs"/>.
    /// Returns the drifts confirmed when this sample closed the previous interval (usually none: null).
    /// </summary>
    public List<MetricDrift>? Observe(long timestampMs, ReadOnlySpan<double> values)
    {
        if (values.Length != _metrics.Length) throw new ArgumentException($"expected {_metrics.Length} values, got {values.Length}", nameof(values));
        var interval = timestampMs / _settings.IntervalMs;
        List<MetricDrift>? drifts = null;
        if (interval > _openInterval)
        {
            if (_openSamples > 0)
            {
                var means = new double[_metrics.Length];
                for (var i = 0; i < means.Length; i++) means[i] = _openSums[i] / _openSamples;
                drifts = Close(new ClosedInterval(_openInterval, means), detect: true);
            }
            _openInterval = interval;
            _openSamples = 0;
            Array.Clear(_openSums);
        }
        for (var i = 0; i < values.Length; i++)
            if (double.IsFinite(values[i])) _openSums[i] += _metrics[i].Bounds.Clamp(values[i]);
        _openSamples++;
        return drifts;
    }

    /// <summary>Forecasts of every metric at the configured horizons (computed on demand, not per update).</summary>
    public IReadOnlyList<MetricForecast> Forecast()
    {
        var latest = _history.Count == 0 ? null : _history.Last();
        return _metrics.Select((metric, i) => new MetricForecast(
                metric.Name,
                latest?.Values[i],
                _forecasters is null || _forecasters[i].Count == 0 ? [] : _forecasters[i].Forecast(_settings.Horizons),
                _forecasters is null || _forecasters[i].Count == 0 ? [] : _forecasters[i].ChosenModels(_settings.Horizons[0])))
            .ToList();
    }

    /// <summary>The snapshot part: rebuilding from it gives the same forecaster (up to the history bound).</summary>
    public LiveForecastState ToState() =>
        new(_metrics, _openInterval, _openSums.ToArray(), _openSamples, _history.ToArray());

    public DateTimeOffset StartOf(long interval) => DateTimeOffset.FromUnixTimeMilliseconds(interval * _settings.IntervalMs);

    private List<MetricDrift>? Close(ClosedInterval closed, bool detect)
    {
        _history.Enqueue(closed);
        while (_history.Count > _settings.HistoryIntervals) _history.Dequeue();
        IntervalsClosed++;
        _forecasters ??= _metrics
            .Select(m => new AdaptiveForecaster(_settings.Forecaster with { Model = _settings.Forecaster.Model with { Bounds = m.Bounds } }))
            .ToArray();
        _detectors ??= _metrics.Select(m => new CusumDriftDetector(m.Name, _settings.Detector)).ToArray();
        List<MetricDrift>? drifts = null;
        for (var i = 0; i < _metrics.Length; i++)
        {
            var value = closed.Values[i];
            _forecasters[i].Update(value);
            if (_detectors[i].Observe(closed.Interval, value) is not { } detection || !detect) continue;
            (drifts ??= []).Add(new MetricDrift(_metrics[i].Name, detection, StartOf(detection.FirstSeenInterval), StartOf(detection.ConfirmedInterval)));
        }
        return drifts;
    }
}

/// <summary>The confirmation time of the latest persisted drift per metric (drift events are deduplicated by it).</summary>
public sealed record DriftMarks(IReadOnlyDictionary<string, DateTimeOffset> ConfirmedAtByMetric)
{
    public static DriftMarks None { get; } = new(new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));

    /// <summary>True when a drift of this metric confirmed at or after <paramref name="confirmedAt"/> is already recorded.</summary>
    public bool AlreadyRecorded(string metric, DateTimeOffset confirmedAt) =>
        ConfirmedAtByMetric.TryGetValue(metric, out var latest) && latest >= confirmedAt;

    public DriftMarks With(string metric, DateTimeOffset confirmedAt) =>
        new(new Dictionary<string, DateTimeOffset>(ConfirmedAtByMetric, StringComparer.Ordinal) { [metric] = confirmedAt });

    public bool Equals(DriftMarks? other) =>
        other is not null && ConfirmedAtByMetric.Count == other.ConfirmedAtByMetric.Count
        && ConfirmedAtByMetric.All(m => other.ConfirmedAtByMetric.TryGetValue(m.Key, out var at) && at == m.Value);

    public override int GetHashCode() => ConfirmedAtByMetric.Count;
}
