namespace ComputeNet.Actors.Forecasting;

/// <summary>Settings every model shares: bounds, tracked horizons, and how the 90% interval learns.</summary>
public sealed record ForecastModelOptions
{
    /// <summary>Clamp range of the series, e.g. [0, capacity cores].</summary>
    public ForecastBounds Bounds { get; init; } = ForecastBounds.NonNegative;

    /// <summary>Horizons 1..N whose errors are tracked online; beyond N the interval grows with √h.</summary>
    public int TrackedHorizons { get; init; } = 15;

    /// <summary>Memory of the rolling-origin error score, in intervals (288 = one day at 300 s).</summary>
    public int ValidationWindowIntervals { get; init; } = 288;

    /// <summary>Step of the online quantile tracker, as a fraction of the mean absolute error.</summary>
    public double IntervalLearningRate { get; init; } = 0.05;

    /// <summary>Scored errors needed at a horizon before its empirical interval replaces the fallback.</summary>
    public int MinimumScoredErrors { get; init; } = 30;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(TrackedHorizons, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ValidationWindowIntervals, 1);
        if (!(Bounds.Maximum > Bounds.Minimum)) throw new ArgumentException("bounds must have maximum > minimum");
    }
}

/// <summary>
/// Shared machinery of the incremental models: after every observation the model forecasts
/// horizons 1..N and keeps them, so when the target interval arrives the h-step error is scored.
/// That is rolling-origin validation for free (no look-ahead), and the same errors drive the
/// 90% interval through two online quantile trackers per horizon (adaptive-conformal style,
/// O(1) per horizon) so coverage self-corrects when the noise changes.
/// </summary>
public abstract class ForecastModel : IForecastModel
{
    private const double UpperTail = 0.95;
    private const double LowerTail = 0.05;
    private const double GaussianZ90 = 1.645;

    private readonly int _horizons;
    private readonly double[] _current;         // forecasts from the latest origin, unclamped
    private readonly double _scoreDecay;
    private RollingOriginScores? _scores;        // allocated once the model is first ready: most of a fleet's models wait for history
    private SeriesHistory? _history;            // created on first use unless a shared one is given first (an adaptive forecaster's candidates all read one)
    private bool _ownsHistory = true;
    private double _lastValue = double.NaN;
    private double _meanAbsoluteStep;            // EWMA of |y_t - y_{t-1}|: the fallback noise scale
    private long _stepsSeen;

    /// <param name="historyIntervals">Latest observations the model reads (its fits and forecasts look no further back).</param>
    protected ForecastModel(string name, ForecastModelOptions options, int historyIntervals = 1)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(historyIntervals, 1);
        Name = name;
        Options = options;
        HistoryIntervals = historyIntervals;
        _horizons = options.TrackedHorizons;
        _current = new double[_horizons];
        _scoreDecay = 1.0 - 1.0 / options.ValidationWindowIntervals;
    }

    /// <summary>Latest observations the model reads; a shared history must keep at least this many.</summary>
    public int HistoryIntervals { get; }

    /// <summary>The observations seen so far, newest last (possibly longer than <see cref="HistoryIntervals"/> when shared).</summary>
    private protected SeriesHistory History => _history ??= new SeriesHistory(HistoryIntervals);

    /// <summary>How many of the newest observations the model may read now.</summary>
    private protected int Kept => Math.Min(History.Length, HistoryIntervals);

    /// <summary>The newest <see cref="Kept"/> observations, oldest first (a copy for fits).</summary>
    private protected double[] KeptHistory() => History.ToArray(Kept);

    /// <summary>
    /// Reads <paramref name="shared"/> instead of a history of its own; whoever owns it appends each observation
    /// before this model's <see cref="Update"/>. One history per series then serves every candidate model.
    /// </summary>
    internal void ReadSharedHistory(SeriesHistory shared)
    {
        if (Count != 0 || shared.Length != 0) throw new InvalidOperationException("a history can only be shared before the first observation");
        if (shared.Capacity < HistoryIntervals) throw new ArgumentException($"{Name} needs {HistoryIntervals} intervals of history, the shared one keeps {shared.Capacity}");
        _history = shared;
        _ownsHistory = false;
    }

    /// <summary>Makes this model own <paramref name="history"/> (appending every observation to it), e.g. a history it shares with others.</summary>
    internal void OwnHistory(SeriesHistory history)
    {
        if (Count != 0 || history.Length != 0) throw new InvalidOperationException("a history can only be replaced before the first observation");
        _history = history;
        _ownsHistory = true;
    }

    public string Name { get; }

    public ForecastModelOptions Options { get; }

    public ForecastBounds Bounds => Options.Bounds;

    public long Count { get; private set; }

    public abstract bool IsReady { get; }

    public virtual int MinimumHistory => 1;

    /// <summary>The latest observation (NaN before the first).</summary>
    protected double LastValue => _lastValue;

    public void Update(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentException("observation must be finite", nameof(value));
        ScoreMaturedForecasts(value);
        if (Count > 0)
        {
            var step = Math.Abs(value - _lastValue);
            _meanAbsoluteStep = _stepsSeen == 0 ? step : 0.98 * _meanAbsoluteStep + 0.02 * step;
            _stepsSeen++;
        }
        if (_ownsHistory) History.Add(value);
        Observe(value);
        _lastValue = value;
        Count++;
        IssueForecasts();
    }

    public void Refit()
    {
        RefitCore();
        if (Count > 0) IssueForecasts();
    }

    /// <summary>Rolling-origin mean absolute error at a horizon (1-based) over the validation window; +∞ before any score.</summary>
    public double ValidationError(int horizon)
    {
        var index = Math.Clamp(horizon, 1, _horizons) - 1;
        return _scores is { } scores && scores.ErrorWeight[index] > 0 ? scores.ErrorSum[index] / scores.ErrorWeight[index] : double.PositiveInfinity;
    }

    /// <summary>Errors scored at a horizon from forecasts issued while the model was ready.</summary>
    public long ScoredErrors(int horizon) => _scores?.Scored[Math.Clamp(horizon, 1, _horizons) - 1] ?? 0;

    /// <summary>Latest unclamped point forecast at a tracked horizon (1-based).</summary>
    internal double CurrentPoint(int horizon) => _current[Math.Clamp(horizon, 1, _horizons) - 1];

    public ForecastPoint[] Forecast(IReadOnlyList<int> horizons)
    {
        var result = new ForecastPoint[horizons.Count];
        if (horizons.Count == 0) return result;
        var longest = 0;
        foreach (var h in horizons)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(h, 1);
            longest = Math.Max(longest, h);
        }

        var points = longest <= _horizons ? _current : FullForecast(longest);
        var (upper, lower) = MonotoneOffsets();

        // Ascending horizon order so a clamped interval can be widened to its predecessor's width.
        var order = Enumerable.Range(0, horizons.Count).OrderBy(i => horizons[i]).ToArray();
        var previousWidth = 0.0;
        foreach (var i in order)
        {
            var h = horizons[i];
            var point = Bounds.Clamp(points[h - 1]);
            double up, down;
            if (h <= _horizons)
            {
                up = upper[h - 1];
                down = lower[h - 1];
            }
            else
            {
                var growth = Math.Sqrt((double)h / _horizons);
                up = upper[_horizons - 1] * growth;
                down = lower[_horizons - 1] * growth;
            }
            var lo = Bounds.Clamp(point - down);
            var hi = Bounds.Clamp(point + up);
            // Clamping can shave an interval; a farther horizon is never more certain, so re-widen inside the bounds.
            var missing = previousWidth - (hi - lo);
            if (missing > 0)
            {
                var roomAbove = Bounds.Maximum - hi;
                var raise = Math.Min(missing, roomAbove);
                hi += raise;
                lo = Math.Max(Bounds.Minimum, lo - (missing - raise));
            }
            previousWidth = Math.Max(previousWidth, hi - lo);
            result[i] = new ForecastPoint(h, point, lo, hi);
        }
        return result;
    }

    /// <summary>Consumes one observation: update state in O(1)–O(period).</summary>
    protected abstract void Observe(double value);

    /// <summary>Re-estimates parameters; may be O(history).</summary>
    protected virtual void RefitCore()
    {
    }

    /// <summary>Writes point forecasts for horizons 1..destination.Length (destination[0] = one interval ahead).</summary>
    protected abstract void FillPointForecasts(Span<double> destination);

    private double[] FullForecast(int longest)
    {
        var points = new double[longest];
        if (Count == 0) return points;
        FillPointForecasts(points);
        return points;
    }

    private void IssueForecasts()
    {
        FillPointForecasts(_current);
        if (_scores is null && IsReady) _scores = new RollingOriginScores(_horizons);
        if (_scores is not { } scores) return; // never ready yet: nothing issued can be scored
        var slot = (int)((Count - 1) % (_horizons + 1));
        for (var k = 0; k < _horizons; k++) scores.Issued[slot * _horizons + k] = (float)_current[k];
        scores.IssuedWhileReady[slot] = IsReady;
    }

    private void ScoreMaturedForecasts(double actual)
    {
        if (_scores is not { } scores) return;
        // The observation arriving now has index Count; the forecast for it at horizon h was issued at origin Count - h.
        for (var h = 1; h <= _horizons; h++)
        {
            var origin = Count - h;
            if (origin < 0) break;
            var slot = (int)(origin % (_horizons + 1));
            if (!scores.IssuedWhileReady[slot]) continue;
            var error = actual - scores.Issued[slot * _horizons + h - 1];
            var k = h - 1;
            var absolute = Math.Abs(error);
            scores.ErrorSum[k] = _scoreDecay * scores.ErrorSum[k] + absolute;
            scores.ErrorWeight[k] = _scoreDecay * scores.ErrorWeight[k] + 1;
            if (scores.Scored[k] == 0)
            {
                var start = FallbackRadius(h);
                scores.UpperQuantile[k] = start;
                scores.LowerQuantile[k] = -start;
            }
            scores.Scored[k]++;
            var step = Options.IntervalLearningRate * Math.Max(scores.ErrorSum[k] / scores.ErrorWeight[k], 1e-12);
            scores.UpperQuantile[k] += step * (error > scores.UpperQuantile[k] ? UpperTail : -(1 - UpperTail));
            scores.LowerQuantile[k] += step * (error < scores.LowerQuantile[k] ? -(1 - LowerTail) : LowerTail);
        }
    }

    private double FallbackRadius(int horizon)
    {
        // Random-walk-like spread from the mean absolute step (≈ 0.8·σ√2 under Gaussian steps).
        var sigmaStep = _meanAbsoluteStep * 1.25;
        return GaussianZ90 * sigmaStep * Math.Sqrt(horizon);
    }

    /// <summary>Upper and lower offsets per tracked horizon, made non-decreasing in the horizon.</summary>
    private (double[] Upper, double[] Lower) MonotoneOffsets()
    {
        var upper = new double[_horizons];
        var lower = new double[_horizons];
        double runningUp = 0, runningDown = 0;
        for (var k = 0; k < _horizons; k++)
        {
            double up, down;
            if (_scores is { } scores && scores.Scored[k] >= Options.MinimumScoredErrors)
            {
                up = scores.UpperQuantile[k];
                down = -scores.LowerQuantile[k];
            }
            else
            {
                up = down = FallbackRadius(k + 1);
            }
            runningUp = Math.Max(runningUp, Math.Max(up, 0));
            runningDown = Math.Max(runningDown, Math.Max(down, 0));
            upper[k] = runningUp;
            lower[k] = runningDown;
        }
        return (upper, lower);
    }
}

/// <summary>Rolling-origin bookkeeping of one model: the forecasts issued per origin and horizon, their decayed errors and interval quantiles.</summary>
internal sealed class RollingOriginScores(int horizons)
{
    public readonly float[] Issued = new float[(horizons + 1) * horizons];     // ring: origin slot × horizon; single precision is ample for scoring
    public readonly bool[] IssuedWhileReady = new bool[horizons + 1];
    public readonly double[] UpperQuantile = new double[horizons];
    public readonly double[] LowerQuantile = new double[horizons];
    public readonly double[] ErrorSum = new double[horizons];
    public readonly double[] ErrorWeight = new double[horizons];
    public readonly long[] Scored = new long[horizons];
}
