namespace ComputeNet.Actors.Forecasting;

/// <summary>Settings of the per-series automatic model choice.</summary>
public sealed record AdaptiveForecasterOptions
{
    public ForecastModelOptions Model { get; init; } = new();

    /// <summary>Season length for Holt-Winters and seasonal naive (288 = one day at 300 s).</summary>
    public int SeasonIntervals { get; init; } = 288;

    public PeriodicityOptions Periodicity { get; init; } = new();

    /// <summary>Largest AR lag tried.</summary>
    public int MaxAutoregressiveOrder { get; init; } = 8;

    /// <summary>Window of the robust short-history model (12 = one hour at 300 s).</summary>
    public int RecentMedianWindowIntervals { get; init; } = 12;

    /// <summary>Refit cadence of the fitted models; refits are staggered across models to spread the cost.</summary>
    public int RefitEveryIntervals { get; init; } = 288;

    /// <summary>How often the choice per horizon is re-evaluated from the rolling-origin scores.</summary>
    public int ReevaluateEveryIntervals { get; init; } = 12;

    /// <summary>Scored errors a candidate needs at a horizon before it can be chosen.</summary>
    public int MinimumValidationErrors { get; init; } = 48;

    /// <summary>
    /// How many of the best candidates per horizon are combined, weighted by inverse validation error
    /// (1 = take the single best; combining a few is usually more accurate than any one).
    /// </summary>
    public int CombinedModels { get; init; } = 2;
}

/// <summary>
/// Automatic forecaster for one series: keeps every candidate model up to date, scores each by
/// rolling-origin validation (errors of forecasts issued before the target was seen), and per
/// horizon forecasts with the best one(s). Until candidates have enough scored history it uses
/// the robust recent-median model. Its own interval is learned from its own errors.
/// </summary>
public sealed class AdaptiveForecaster : ForecastModel
{
    private readonly AdaptiveForecasterOptions _adaptive;
    private readonly ForecastModel[] _candidates;
    private readonly ForecastModel _fallback;
    private readonly bool[] _firstFitDone;
    private readonly int[][] _chosen;       // per horizon: indices of the chosen candidates
    private readonly double[][] _weights;   // per horizon: their weights

    public AdaptiveForecaster(AdaptiveForecasterOptions? options = null)
        : this(options ?? new AdaptiveForecasterOptions(), null)
    {
    }

    /// <summary>With an explicit candidate list (the first one that never needs a fit is the short-history fallback).</summary>
    public AdaptiveForecaster(AdaptiveForecasterOptions options, IReadOnlyList<ForecastModel>? candidates)
        : base("adaptive", options.Model)
    {
        _adaptive = options;
        _candidates = (candidates ?? DefaultCandidates(options)).ToArray();
        // One bounded history per series, appended once per interval, read by every candidate.
        var shared = new SeriesHistory(_candidates.Max(c => c.HistoryIntervals));
        OwnHistory(shared);
        foreach (var candidate in _candidates) candidate.ReadSharedHistory(shared);
        _firstFitDone = new bool[_candidates.Length];
        _fallback = _candidates.FirstOrDefault(c => c is RecentMedianForecastModel) ?? _candidates[0];
        var horizons = options.Model.TrackedHorizons;
        _chosen = new int[horizons][];
        _weights = new double[horizons][];
        // Every horizon starts on the fallback alone; the arrays are shared until the first choice replaces them.
        int[] fallbackOnly = [Array.IndexOf(_candidates, _fallback)];
        Array.Fill(_chosen, fallbackOnly);
        Array.Fill(_weights, FullWeight);
    }

    private static readonly double[] FullWeight = [1.0];

    public static IReadOnlyList<ForecastModel> DefaultCandidates(AdaptiveForecasterOptions options) =>
    [
        new RecentMedianForecastModel(options.RecentMedianWindowIntervals, options.Model),
        new NaiveForecastModel(options.Model),
        new ExponentialSmoothingForecastModel(options.Model),
        new SeasonalNaiveForecastModel(options.SeasonIntervals, options.Model),
        new HoltWintersForecastModel(options.SeasonIntervals, options.Model),
        new AutoregressiveForecastModel(options.Model, options.MaxAutoregressiveOrder),
        new PeriodicityForecastModel(options.Model, options.Periodicity),
    ];

    public IReadOnlyList<ForecastModel> Candidates => _candidates;



    public override bool IsReady => Count >= 1;

    /// <summary>Names of the candidates currently forecasting a horizon (1-based).</summary>
    public IReadOnlyList<string> ChosenModels(int horizon) =>
        _chosen[Math.Clamp(horizon, 1, _chosen.Length) - 1].Select(i => _candidates[i].Name).ToArray();

    protected override void Observe(double value)
    {
        var index = Count; // this observation's interval index
        for (var i = 0; i < _candidates.Length; i++)
        {
            var candidate = _candidates[i];
            candidate.Update(value);
            if (!_firstFitDone[i] && candidate.Count >= candidate.MinimumHistory)
            {
                candidate.Refit(); // first fit as soon as history allows; later (e.g. no period found yet) on the schedule
                _firstFitDone[i] = true;
            }
            else if ((index + i * _adaptive.RefitEveryIntervals / _candidates.Length) % _adaptive.RefitEveryIntervals == 0 && candidate.Count >= candidate.MinimumHistory)
                candidate.Refit();
        }
        if ((index + 1) % _adaptive.ReevaluateEveryIntervals == 0) Choose();
    }

    protected override void FillPointForecasts(Span<double> destination)
    {
        for (var h = 1; h <= destination.Length; h++)
        {
            var k = Math.Min(h, _chosen.Length) - 1;
            var chosen = _chosen[k];
            var weights = _weights[k];
            var point = 0.0;
            for (var j = 0; j < chosen.Length; j++)
                point += weights[j] * (h <= _chosen.Length ? _candidates[chosen[j]].CurrentPoint(h) : FarPoint(_candidates[chosen[j]], h));
            destination[h - 1] = point;
        }
    }

    private static double FarPoint(ForecastModel model, int horizon) => model.Forecast([horizon])[0].Point;

    private void Choose()
    {
        var fallbackIndex = Array.IndexOf(_candidates, _fallback);
        var combined = Math.Max(1, _adaptive.CombinedModels);
        for (var k = 0; k < _chosen.Length; k++)
        {
            var h = k + 1;
            var ranked = Enumerable.Range(0, _candidates.Length)
                .Where(i => _candidates[i].IsReady && _candidates[i].ScoredErrors(h) >= _adaptive.MinimumValidationErrors)
                .OrderBy(i => _candidates[i].ValidationError(h))
                .Take(combined)
                .ToArray();
            if (ranked.Length == 0)
            {
                _chosen[k] = [fallbackIndex];
                _weights[k] = FullWeight;
                continue;
            }
            var errors = ranked.Select(i => _candidates[i].ValidationError(h)).ToArray();
            if (errors[0] <= 0)
            {
                _chosen[k] = [ranked[0]];
                _weights[k] = FullWeight;
                continue;
            }
            var inverse = errors.Select(e => 1 / e).ToArray();
            var total = inverse.Sum();
            _chosen[k] = ranked;
            _weights[k] = inverse.Select(w => w / total).ToArray();
        }
    }
}
