namespace ComputeNet.Actors.Forecasting;

/// <summary>Naive baseline: every horizon repeats the last observation.</summary>
public sealed class NaiveForecastModel(ForecastModelOptions options) : ForecastModel("naive", options)
{
    public override bool IsReady => Count >= 1;

    protected override void Observe(double value)
    {
    }

    protected override void FillPointForecasts(Span<double> destination) => destination.Fill(LastValue);
}

/// <summary>Seasonal naive baseline: horizon h repeats the observation one period before the target.</summary>
public sealed class SeasonalNaiveForecastModel : ForecastModel
{

    /// <param name="periodIntervals">Season length in intervals (288 = one day at 300 s).</param>
    public SeasonalNaiveForecastModel(int periodIntervals, ForecastModelOptions options)
        : base("seasonal_naive", options, periodIntervals)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(periodIntervals, 1);
        PeriodIntervals = periodIntervals;
    }

    public int PeriodIntervals { get; }

    public override bool IsReady => Count >= PeriodIntervals;

    public override int MinimumHistory => PeriodIntervals;

    protected override void Observe(double value)
    {
    }

    protected override void FillPointForecasts(Span<double> destination)
    {
        var kept = Kept;
        for (var h = 1; h <= destination.Length; h++)
        {
            // Target t+h maps to t+h-m·ceil(h/m): the same slot in the latest complete period.
            var back = PeriodIntervals - ((h - 1) % PeriodIntervals);
            destination[h - 1] = back <= kept ? History.Back(back) : LastValue;
        }
    }
}

/// <summary>
/// Robust model for short or erratic history: the median of the last few observations.
/// Its interval comes from the shared empirical tracker, which falls back to a MAD-like
/// step scale until enough errors are scored.
/// </summary>
public sealed class RecentMedianForecastModel : ForecastModel
{
    private readonly double[] _scratch;

    /// <param name="windowIntervals">Observations in the median (12 = one hour at 300 s).</param>
    public RecentMedianForecastModel(int windowIntervals, ForecastModelOptions options)
        : base("recent_median", options, windowIntervals)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowIntervals, 1);
        _scratch = new double[windowIntervals];
    }

    public override bool IsReady => Count >= 1;

    protected override void Observe(double value)
    {
    }

    protected override void FillPointForecasts(Span<double> destination)
    {
        var window = _scratch.AsSpan(0, Kept);
        for (var i = 0; i < window.Length; i++) window[i] = History.Back(i + 1);
        destination.Fill(RobustStatistics.MedianInPlace(window));
    }
}
