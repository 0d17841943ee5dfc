namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// One horizon of a forecast: the point forecast and its 90% prediction interval,
/// all in the series' own unit (e.g. available CPU cores). Horizon counts aggregation intervals ahead.
/// </summary>
public readonly record struct ForecastPoint(int Horizon, double Point, double Lower, double Upper)
{
    public double Width => Upper - Lower;
}

/// <summary>The physical range a series can take, e.g. [0, capacity cores]; every forecast is clamped into it.</summary>
public readonly record struct ForecastBounds(double Minimum, double Maximum)
{
    /// <summary>Non-negative with no known capacity (e.g. a sum over a cluster).</summary>
    public static ForecastBounds NonNegative => new(0, double.PositiveInfinity);

    public static ForecastBounds UpTo(double capacity) => new(0, capacity);

    public double Clamp(double value) => Math.Clamp(value, Minimum, Maximum);
}

/// <summary>An incremental forecaster over one univariate series of per-interval aggregates.</summary>
public interface IForecastModel
{
    string Name { get; }

    /// <summary>Observations seen so far; the next observation has interval index <see cref="Count"/>.</summary>
    long Count { get; }

    /// <summary>True once the model has enough history and a fit to forecast on its own terms.</summary>
    bool IsReady { get; }

    /// <summary>History the model needs before <see cref="Refit"/> can make it ready.</summary>
    int MinimumHistory { get; }

    /// <summary>Adds the aggregate of the next interval: O(1)–O(period), never a full refit.</summary>
    void Update(double value);

    /// <summary>Re-estimates parameters from the kept history; the caller decides when (on a schedule).</summary>
    void Refit();

    /// <summary>Point forecast plus 90% interval per horizon (intervals ahead), clamped to the bounds.</summary>
    ForecastPoint[] Forecast(IReadOnlyList<int> horizons);
}
