namespace ComputeNet.Actors.Forecasting.Drift;

public enum DriftDirection
{
    Down,
    Up,
}

/// <summary>Where a detector stands: no evidence, evidence above the trigger threshold but not yet persistent, or re-learning after a confirmed drift.</summary>
public enum DriftState
{
    WarmingUp,
    Normal,
    Suspected,
}

/// <summary>
/// A confirmed change of level of one metric (e.g. a node's available CPU cores, a link's latency in ms,
/// or forecast residuals of either). Levels are in the metric's unit; intervals are the caller's interval indices.
/// </summary>
public sealed record DriftDetected(
    string MetricName,
    DriftDirection Direction,
    double LevelBefore,
    double LevelAfter,
    long FirstSeenInterval,
    long ConfirmedInterval,
    double Statistic);

/// <summary>
/// Thresholds of <see cref="CusumDriftDetector"/>, in units of noise (σ = 1.4826 × MAD of the baseline window).
/// Defaults target 300 s intervals: a step of 3σ or more (and ≥ 20% of the level, each confirming value ≥ 2σ out) is confirmed on its third interval; a single spike never is.
/// </summary>
public sealed record DriftDetectorOptions
{
    /// <summary>Recent observations whose median and MAD define the reference level and noise (36 = 3 h at 300 s).</summary>
    public int BaselineWindowIntervals { get; init; } = 36;

    /// <summary>
    /// Observations the baseline lags behind the present, so a fresh change does not pollute its own reference
    /// (2: on the usage traces a longer lag mostly lets slow wander through as drift; see `computenet bench drift`).
    /// </summary>
    public int BaselineLagIntervals { get; init; } = 2;

    /// <summary>Baseline observations needed before detecting (also the re-learning period after a confirmed drift).</summary>
    public int WarmupIntervals { get; init; } = 12;

    /// <summary>CUSUM allowance k: deviations under k·σ do not accumulate (1σ: tuned for shifts of about 2σ and up).</summary>
    public double AllowanceSigmas { get; init; } = 1.0;

    /// <summary>CUSUM value h that raises a suspicion.</summary>
    public double TriggerSigmas { get; init; } = 4.0;

    /// <summary>All-clear level: a suspicion ends only when the statistic falls below it (hysteresis).</summary>
    public double ClearSigmas { get; init; } = 2.0;

    /// <summary>
    /// Consecutive suspected intervals needed to confirm a drift; the last this-many observations must each also
    /// be shifted by at least <see cref="MinimumRelativeChange"/>, so one-interval jitter does not flap.
    /// </summary>
    public int PersistenceIntervals { get; init; } = 2;

    /// <summary>Each standardised deviation is capped at this many σ, so one outlier cannot confirm a drift alone.</summary>
    public double DeviationCapSigmas { get; init; } = 4.0;

    /// <summary>Noise floor as a fraction of |baseline level|, for near-constant series (0.02 = 2%).</summary>
    public double RelativeNoiseFloor { get; init; } = 0.02;

    /// <summary>
    /// Extrapolate the baseline window's least-squares line to the present instead of using its median,
    /// so slow (e.g. diurnal) ramps of a smooth series are expected rather than accumulated as drift.
    /// </summary>
    public bool FollowTrend { get; init; }

    /// <summary>
    /// A confirmed shift smaller than this fraction of |level before| is absorbed silently (re-based, not reported):
    /// the scheduler cares about material changes. Set 0 for residual series whose level is near zero.
    /// </summary>
    public double MinimumRelativeChange { get; init; } = 0.2;

    /// <summary>
    /// The confirming observations must also each lie this many σ beyond the reference: on a noisy low-level series
    /// the relative gate alone is within the noise (0 = off).
    /// </summary>
    public double MinimumShiftSigmas { get; init; } = 2.0;

    /// <summary>
    /// The newest intervals of the baseline window whose median is the reference level (0 = the whole window); σ still
    /// comes from the whole window. A reference of one hour follows a wandering level, so slow wander is not taken for
    /// a change (12: chosen on the first half of every usage trace, checked on the second; see the README).
    /// </summary>
    public int ReferenceWindowIntervals { get; init; } = 12;

    /// <summary>Absolute noise floor in the metric's unit.</summary>
    public double AbsoluteNoiseFloor { get; init; } = 1e-6;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BaselineWindowIntervals, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(WarmupIntervals, 3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(WarmupIntervals, BaselineWindowIntervals);
        ArgumentOutOfRangeException.ThrowIfLessThan(PersistenceIntervals, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(BaselineLagIntervals);
        ArgumentOutOfRangeException.ThrowIfNegative(ReferenceWindowIntervals);
        if (!(ClearSigmas < TriggerSigmas)) throw new ArgumentException("ClearSigmas must be below TriggerSigmas");
    }
}

/// <summary>
/// Two-sided CUSUM on a level series (or on forecast residuals) with a robust moving baseline:
/// reference = median of the newest <see cref="DriftDetectorOptions.ReferenceWindowIntervals"/> and σ = 1.4826·MAD of a lagged window, deviations standardised and capped,
/// a suspicion opens when either side's sum exceeds the trigger, persists while it stays above the
/// all-clear level, and is confirmed after <see cref="DriftDetectorOptions.PersistenceIntervals"/>
/// intervals. A confirmation re-bases the detector on the post-change observations, so one step
/// yields one drift. Pure: the interval index is passed in, O(window) per observation.
/// </summary>
public sealed class CusumDriftDetector
{
    private readonly DriftDetectorOptions _options;
    private readonly SeriesHistory _recent;   // baseline window + lag, newest last
    private readonly double[] _scratch;
    private double _upperSum, _lowerSum;
    private long _firstSeen = -1;
    private int _suspectedIntervals;
    private double _carriedSigma;
    private const int MinimumRelearnIntervals = 6;

    public CusumDriftDetector(string metricName, DriftDetectorOptions? options = null)
    {
        _options = options ?? new DriftDetectorOptions();
        _options.Validate();
        MetricName = metricName;
        _recent = new SeriesHistory(_options.BaselineWindowIntervals + _options.BaselineLagIntervals);
        _scratch = new double[_options.BaselineWindowIntervals + _options.BaselineLagIntervals];
    }

    public string MetricName { get; }

    public DriftState State { get; private set; } = DriftState.WarmingUp;

    /// <summary>The larger of the two CUSUM sums after the last observation, in σ.</summary>
    public double Statistic => Math.Max(_upperSum, _lowerSum);

    /// <summary>Feeds the aggregate of one interval; returns a drift when one is confirmed at this interval.</summary>
    public DriftDetected? Observe(long interval, double value)
    {
        if (!double.IsFinite(value)) return null;
        double level, sigma;
        var lagged = _recent.Length - _options.BaselineLagIntervals;
        if (lagged >= _options.WarmupIntervals)
        {
            (level, sigma) = Baseline(Math.Min(lagged, _options.BaselineWindowIntervals), _options.BaselineLagIntervals);
            _carriedSigma = sigma;
        }
        else if (_carriedSigma > 0 && _recent.Length >= MinimumRelearnIntervals)
        {
            // Just after a confirmed drift: the level is re-learned from the few post-change values
            // while the noise scale carries over, so a second change is not missed during re-learning.
            (level, _) = Baseline(_recent.Length, 0);
            sigma = _carriedSigma;
        }
        else
        {
            Remember(value);
            return null;
        }

        var deviation = Math.Clamp((value - level) / sigma, -_options.DeviationCapSigmas, _options.DeviationCapSigmas);
        _upperSum = Math.Max(0, _upperSum + deviation - _options.AllowanceSigmas);
        _lowerSum = Math.Max(0, _lowerSum - deviation - _options.AllowanceSigmas);
        Remember(value);

        var statistic = Statistic;
        if (State == DriftState.Suspected)
        {
            if (statistic < _options.ClearSigmas)
            {
                State = DriftState.Normal; // all clear: the excursion was jitter
                _suspectedIntervals = 0;
                _firstSeen = -1;
                return null;
            }
            _suspectedIntervals++;
        }
        else if (statistic > _options.TriggerSigmas)
        {
            State = DriftState.Suspected;
            _suspectedIntervals = 1;
            _firstSeen = interval;
        }
        else
        {
            State = DriftState.Normal;
        }

        if (State != DriftState.Suspected || _suspectedIntervals < _options.PersistenceIntervals || statistic <= _options.TriggerSigmas)
            return null;

        // Each side confirms on its own: a stale immaterial excursion on one side must not mask a real change on the other.
        DriftDirection direction;
        if (_lowerSum > _options.TriggerSigmas && RecentObservationsShifted(level, sigma, DriftDirection.Down)) direction = DriftDirection.Down;
        else if (_upperSum > _options.TriggerSigmas && RecentObservationsShifted(level, sigma, DriftDirection.Up)) direction = DriftDirection.Up;
        else
        {
            // Persistent but immaterial (smaller than MinimumRelativeChange): absorb it instead of letting it linger.
            _upperSum = _lowerSum = 0;
            State = DriftState.Normal;
            _suspectedIntervals = 0;
            _firstSeen = -1;
            return null;
        }

        // The values since the trigger (at most PersistenceIntervals + 1 of them) are post-change with high
        // probability; the CUSUM run start, or an old lingering suspicion, may predate the change.
        var afterCount = (int)Math.Clamp(interval - _firstSeen + 1, 1, Math.Min(_recent.Length, _options.PersistenceIntervals + 1));
        var after = new double[afterCount];
        for (var i = 0; i < afterCount; i++) after[i] = _recent.Back(afterCount - i);
        var drift = new DriftDetected(MetricName, direction, level, Median(after), _firstSeen, interval, direction == DriftDirection.Down ? _lowerSum : _upperSum);
        RestartFrom(after);
        var levelAfter = drift.LevelAfter;
        return Math.Abs(levelAfter - level) >= _options.MinimumRelativeChange * Math.Abs(level) ? drift : null;
    }

    private void Remember(double value) => _recent.Add(value);

    private static double Median(double[] values) => RobustStatistics.MedianInPlace(((double[])values.Clone()).AsSpan());

    /// <summary>Each of the last PersistenceIntervals observations lies a material distance beyond the reference, on the drift's side.</summary>
    private bool RecentObservationsShifted(double level, double sigma, DriftDirection direction)
    {
        var margin = Math.Max(_options.MinimumRelativeChange * Math.Abs(level), _options.MinimumShiftSigmas * sigma);
        for (var i = 1; i <= Math.Min(_options.PersistenceIntervals, _recent.Length); i++)
        {
            var shift = _recent.Back(i) - level;
            if (direction == DriftDirection.Down ? shift > -margin : shift < margin) return false;
        }
        return true;
    }

    private (double Level, double Sigma) Baseline(int count, int lag)
    {
        // The window ends `lag` observations before the one being judged.
        var window = _scratch.AsSpan(0, count);
        for (var i = 0; i < count; i++) window[i] = _recent.Back(lag + 1 + i);
        // window[0] is the newest baseline value, BaselineLagIntervals + 1 before the present.
        double slope = 0, intercept = 0;
        if (_options.FollowTrend && count >= _options.WarmupIntervals)
        {
            double meanX = (count - 1) / 2.0, meanY = 0;
            for (var i = 0; i < count; i++) meanY += window[i];
            meanY /= count;
            double sxy = 0, sxx = 0;
            for (var i = 0; i < count; i++)
            {
                sxy += (i - meanX) * (window[i] - meanY);
                sxx += (i - meanX) * (i - meanX);
            }
            slope = sxy / sxx; // per step into the past
            intercept = meanY - slope * meanX;
            for (var i = 0; i < count; i++) window[i] -= intercept + slope * i;
        }
        var referenceCount = _options.ReferenceWindowIntervals > 0 ? Math.Min(count, _options.ReferenceWindowIntervals) : count;
        // A copy on the stack: the window's own buffer is sorted for σ, and a buffer per detector would cost every metric of a fleet.
        var reference = referenceCount <= 256 ? stackalloc double[referenceCount] : new double[referenceCount];
        window[..referenceCount].CopyTo(reference);
        var (median, sigma) = RobustStatistics.MedianAndSigmaInPlace(window);
        if (referenceCount < count) median = RobustStatistics.MedianInPlace(reference);
        var expected = median + intercept + slope * -(lag + 1);
        var floor = Math.Max(_options.AbsoluteNoiseFloor, _options.RelativeNoiseFloor * Math.Abs(expected));
        return (expected, Math.Max(sigma, floor));
    }

    /// <summary>Re-learns the baseline from the post-change observations only, in arrival order.</summary>
    private void RestartFrom(double[] postChange)
    {
        _recent.Clear();
        foreach (var value in postChange) Remember(value);
        _upperSum = _lowerSum = 0;
        _suspectedIntervals = 0;
        _firstSeen = -1;
        State = DriftState.WarmingUp;
    }
}
