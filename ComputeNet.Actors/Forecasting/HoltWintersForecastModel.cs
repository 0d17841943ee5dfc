namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// Additive Holt-Winters with a damped trend. Smoothing parameters (alpha, beta, gamma) are chosen
/// on <see cref="Refit"/> by minimising the one-step squared error over the kept history
/// (coarse grid, then Nelder-Mead); between refits each observation is an O(1) state update.
/// </summary>
public sealed class HoltWintersForecastModel : ForecastModel
{
    /// <summary>Trend damping per interval: keeps 15-interval-ahead forecasts from running away on a local slope.</summary>
    public const double TrendDamping = 0.98;

    private double[] _season = [];   // allocated by the first fit: a fresh model waits two periods for one
    private double _level;
    private double _trend;
    private bool _fitted;

    /// <param name="periodIntervals">Season length in intervals (288 = one day at 300 s).</param>
    /// <param name="historyPeriods">Periods of history kept for refits (cost of a refit is linear in it).</param>
    public HoltWintersForecastModel(int periodIntervals, ForecastModelOptions options, int historyPeriods = 4)
        : base("holt_winters", options, periodIntervals * historyPeriods)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(periodIntervals, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(historyPeriods, 3);
        PeriodIntervals = periodIntervals;
    }

    public int PeriodIntervals { get; }

    public double Alpha { get; private set; } = 0.3;

    public double Beta { get; private set; } = 0.01;

    public double Gamma { get; private set; } = 0.1;

    public override bool IsReady => _fitted;

    public override int MinimumHistory => 2 * PeriodIntervals + 1;

    protected override void Observe(double value)
    {
        if (_fitted) Step(value, Count, Alpha, Beta, Gamma, ref _level, ref _trend, _season);
    }

    protected override void FillPointForecasts(Span<double> destination)
    {
        if (!_fitted)
        {
            destination.Fill(LastValue);
            return;
        }
        var dampedSum = 0.0;
        var damping = 1.0;
        for (var h = 1; h <= destination.Length; h++)
        {
            damping *= TrendDamping;
            dampedSum += damping;
            destination[h - 1] = _level + dampedSum * _trend + _season[(int)((Count - 1 + h) % PeriodIntervals)];
        }
    }

    protected override void RefitCore()
    {
        if (Kept < MinimumHistory) return;
        var data = KeptHistory();
        var firstIndex = Count - data.Length;

        // Parameters live in (0,1); search on the logit scale so the optimiser is unconstrained.
        double Objective(double[] u) => Run(data, firstIndex, Logistic(u[0]), Logistic(u[1]), Logistic(u[2]), null);

        double[] best = [Logit(Alpha), Logit(Beta), Logit(Gamma)];
        var bestValue = Objective(best);
        foreach (var a in new[] { 0.1, 0.3, 0.6, 0.9 })
            foreach (var b in new[] { 0.005, 0.05 })
                foreach (var g in new[] { 0.05, 0.3 })
                {
                    double[] candidate = [Logit(a), Logit(b), Logit(g)];
                    var value = Objective(candidate);
                    if (value < bestValue) (best, bestValue) = (candidate, value);
                }
        var (point, _) = NelderMead.Minimise(Objective, best, 0.5, 60);
        Alpha = Logistic(point[0]);
        Beta = Logistic(point[1]);
        Gamma = Logistic(point[2]);
        var state = new double[3 + PeriodIntervals];
        Run(data, firstIndex, Alpha, Beta, Gamma, state);
        _level = state[0];
        _trend = state[1];
        if (_season.Length != PeriodIntervals) _season = new double[PeriodIntervals];
        Array.Copy(state, 3, _season, 0, PeriodIntervals);
        _fitted = true;
    }

    /// <summary>Initialises from the first two periods, filters the rest; returns one-step SSE, optionally the final state.</summary>
    private double Run(double[] data, long firstIndex, double alpha, double beta, double gamma, double[]? finalState)
    {
        var m = PeriodIntervals;
        double firstMean = 0, secondMean = 0;
        for (var i = 0; i < m; i++)
        {
            firstMean += data[i];
            secondMean += data[m + i];
        }
        firstMean /= m;
        secondMean /= m;
        var trend = (secondMean - firstMean) / m;
        var season = new double[m];
        // Seasonal offsets relative to the trend line through the two period means (not to the flat mean,
        // which would fold the within-period slope into the season as a sawtooth).
        for (var i = 0; i < m; i++)
        {
            var ramp = trend * (i - (m - 1) / 2.0);
            season[(int)((firstIndex + i) % m)] = (data[i] - firstMean - ramp + data[m + i] - secondMean - ramp) / 2;
        }
        var level = secondMean + (m - 1) / 2.0 * trend;

        var sse = 0.0;
        for (var i = 2 * m; i < data.Length; i++)
        {
            var index = firstIndex + i;
            var predicted = level + TrendDamping * trend + season[(int)(index % m)];
            var error = data[i] - predicted;
            sse += error * error;
            Step(data[i], index, alpha, beta, gamma, ref level, ref trend, season);
        }
        if (finalState is not null)
        {
            finalState[0] = level;
            finalState[1] = trend;
            Array.Copy(season, 0, finalState, 3, m);
        }
        return sse;
    }

    private static void Step(double value, long index, double alpha, double beta, double gamma, ref double level, ref double trend, double[] season)
    {
        var slot = (int)(index % season.Length);
        var previousLevel = level;
        level = alpha * (value - season[slot]) + (1 - alpha) * (previousLevel + TrendDamping * trend);
        trend = beta * (level - previousLevel) + (1 - beta) * TrendDamping * trend;
        season[slot] = gamma * (value - level) + (1 - gamma) * season[slot];
    }

    private static double Logistic(double u) => 1 / (1 + Math.Exp(-u));

    private static double Logit(double p) => Math.Log(p / (1 - p));
}
