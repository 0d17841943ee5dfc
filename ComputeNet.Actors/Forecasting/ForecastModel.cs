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
    private readonly double[] _issued;          // ring: origin slot × horizon
    private readonly bool[] _issuedWhileReady;
    private readonly double[] _current;         // forecasts from the latest origin, unclamped
    private readonly double[] _upperQuantile;
    private readonly double[] _lowerQuantile;
    private readonly double[] _errorScoreSum;
    private readonly double[] _errorScoreWeight;
    private readonly long[] _scoredErrors;
    private readonly double _scoreDecay;
    private double _lastValue = double.NaN;
    private double _meanAbsoluteStep;            // EWMA of |y_t - y_{t-1}|: the fallback noise scale
    private long _stepsSeen;

    protected ForecastModel(string name, ForecastModelOptions options)
    {
        options.Validate();
        Name = name;
        Options = options;
        _horizons = options.TrackedHorizons;
        _issued = new double[(_horizons + 1) * _horizons];
        _issuedWhileReady = new bool[_horizons + 1];
        _current = new double[_horizons];
        _upperQuantile = new double[_horizons];
        _lowerQuantile = new double[_horizons];
        _errorScoreSum = new double[_horizons];
        _errorScoreWeight = new double[_horizons];
        _scoredErrors = new long[_horizons];
        _scoreDecay = 1.0 - 1.0 / options.ValidationWindowIntervals;
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
        return _errorScoreWeight[index] > 0 ? _errorScoreSum[index] / _errorScoreWeight[index] : double.PositiveInfinity;
    }

    /// <summary>Errors scored at a horizon from forecasts issued while the model was ready.</summary>
    public long ScoredErrors(int horizon) => _scoredErrors[Math.Clamp(horizon, 1, _horizons) - 1];

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
        var slot = (int)((Count - 1) % (_horizons + 1));
        Array.Copy(_current, 0, _issued, slot * _horizons, _horizons);
        _issuedWhileReady[slot] = IsReady;
    }

    private void ScoreMaturedForecasts(double actual)
    {
        // The observation arriving now has index Count; the forecast for it at horizon h was issued at origin Count - h.
        for (var h = 1; h <= _horizons; h++)
        {
            var origin = Count - h;
            if (origin < 0) break;
            var slot = (int)(origin % (_horizons + 1));
            if (!_issuedWhileReady[slot]) continue;
            var error = actual - _issued[slot * _horizons + h - 1];
            var k = h - 1;
            var absolute = Math.Abs(error);
            _errorScoreSum[k] = _scoreDecay * _errorScoreSum[k] + absolute;
            _errorScoreWeight[k] = _scoreDecay * _errorScoreWeight[k] + 1;
            if (_scoredErrors[k] == 0)
            {
                var start = FallbackRadius(h);
                _upperQuantile[k] = start;
                _lowerQuantile[k] = -start;
            }
            _scoredErrors[k]++;
            var step = Options.IntervalLearningRate * Math.Max(_errorScoreSum[k] / _errorScoreWeight[k], 1e-12);
            _upperQuantile[k] += step * (error > _upperQuantile[k] ? UpperTail : -(1 - UpperTail));
            _lowerQuantile[k] += step * (error < _lowerQuantile[k] ? -(1 - LowerTail) : LowerTail);
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
            if (_scoredErrors[k] >= Options.MinimumScoredErrors)
            {
                up = _upperQuantile[k];
                down = -_lowerQuantile[k];
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
