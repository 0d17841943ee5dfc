namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// Simple exponential smoothing: a level that follows the series at rate alpha, alpha chosen on
/// <see cref="Refit"/> by minimising one-step squared error over the kept history. Flat forecasts;
/// strong on noisy series whose level wanders without a usable season.
/// </summary>
public sealed class ExponentialSmoothingForecastModel : ForecastModel
{
    private static readonly double[] AlphaGrid = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.95];
    private readonly SeriesHistory _history;
    private double _level = double.NaN;
    private bool _fitted;

    /// <param name="historyIntervals">Observations used to choose alpha (576 = two days at 300 s).</param>
    public ExponentialSmoothingForecastModel(ForecastModelOptions options, int historyIntervals = 576)
        : base("exponential_smoothing", options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyIntervals, 16);
        _history = new SeriesHistory(historyIntervals);
    }

    public double Alpha { get; private set; } = 0.3;

    public override bool IsReady => _fitted;

    public override int MinimumHistory => 48;

    protected override void Observe(double value)
    {
        _history.Add(value);
        _level = double.IsNaN(_level) ? value : _level + Alpha * (value - _level);
    }

    protected override void FillPointForecasts(Span<double> destination) => destination.Fill(_level);

    protected override void RefitCore()
    {
        if (_history.Length < MinimumHistory) return;
        var data = _history.ToArray();
        var bestSse = double.PositiveInfinity;
        foreach (var alpha in AlphaGrid)
        {
            var (sse, _) = Run(data, alpha);
            if (sse < bestSse) (bestSse, Alpha) = (sse, alpha);
        }
        _level = Run(data, Alpha).Level;
        _fitted = true;
    }

    private static (double Sse, double Level) Run(double[] data, double alpha)
    {
        var level = data[0];
        var sse = 0.0;
        for (var i = 1; i < data.Length; i++)
        {
            var error = data[i] - level;
            sse += error * error;
            level += alpha * error;
        }
        return (sse, level);
    }
}
