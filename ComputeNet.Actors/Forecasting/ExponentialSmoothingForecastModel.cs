namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// Simple exponential smoothing with a robust (Huber-clipped) update: a level that follows the series at rate alpha,
/// where an error beyond <c>clip</c> × the running mean absolute error moves it only as far as the clip. Alpha and the
/// clip are chosen on <see cref="Refit"/> by minimising the one-step absolute error over the kept history (absolute,
/// because that is how forecasts are scored, and squared error lets usage spikes drag the level). Flat forecasts;
/// strong on noisy series whose level wanders without a usable season.
/// </summary>
public sealed class ExponentialSmoothingForecastModel : ForecastModel
{
    private static readonly double[] AlphaGrid = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.95];
    private static readonly double[] ClipGrid = [double.PositiveInfinity, 3, 2, 1.25];
    private const double ScaleMemory = 0.05;
    private double _level = double.NaN;
    private double _scale;
    private bool _fitted;

    /// <param name="historyIntervals">Observations used to choose alpha (576 = two days at 300 s).</param>
    public ExponentialSmoothingForecastModel(ForecastModelOptions options, int historyIntervals = 576)
        : base("exponential_smoothing", options, historyIntervals)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyIntervals, 16);
    }

    public double Alpha { get; private set; } = 0.3;

    /// <summary>Errors are clipped at this many running mean absolute errors (+∞ = plain exponential smoothing).</summary>
    public double Clip { get; private set; } = double.PositiveInfinity;

    public override bool IsReady => _fitted;

    public override int MinimumHistory => 48;

    protected override void Observe(double value)
    {
        if (double.IsNaN(_level))
        {
            _level = value;
            return;
        }
        Step(value, Alpha, Clip, ref _level, ref _scale);
    }

    protected override void FillPointForecasts(Span<double> destination) => destination.Fill(_level);

    protected override void RefitCore()
    {
        if (Kept < MinimumHistory) return;
        var data = KeptHistory();
        var best = double.PositiveInfinity;
        foreach (var alpha in AlphaGrid)
            foreach (var clip in ClipGrid)
            {
                var (sae, _, _) = Run(data, alpha, clip);
                if (sae < best) (best, Alpha, Clip) = (sae, alpha, clip);
            }
        (_, _level, _scale) = Run(data, Alpha, Clip);
        _fitted = true;
    }

    private static void Step(double value, double alpha, double clip, ref double level, ref double scale)
    {
        var error = value - level;
        var limit = clip * scale;
        var clipped = scale > 0 ? Math.Clamp(error, -limit, limit) : error;
        level += alpha * clipped;
        scale = scale == 0 ? Math.Abs(error) : scale + ScaleMemory * (Math.Abs(error) - scale);
    }

    private static (double Sae, double Level, double Scale) Run(double[] data, double alpha, double clip)
    {
        var level = data[0];
        var scale = 0.0;
        var sae = 0.0;
        for (var i = 1; i < data.Length; i++)
        {
            sae += Math.Abs(data[i] - level);
            Step(data[i], alpha, clip, ref level, ref scale);
        }
        return (sae, level, scale);
    }
}
