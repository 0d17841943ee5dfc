using System.Diagnostics;
using System.Text.Json;

namespace ComputeNet.Actors.Forecasting;

/// <summary>Accuracy of one model at one horizon, averaged over series (MASE, sMAPE) or over all forecasts (coverage).</summary>
/// <remarks>
/// <see cref="Mase"/> scales each error by the in-sample one-step naive MAE at its origin (all observations up to
/// the origin: an expanding window, no look-ahead). <see cref="MaseWarmupScale"/> scales by the naive MAE of the
/// warm-up only, which is brittle when the warm-up is calmer than the rest of the trace; both are reported.
/// </remarks>
public sealed record HorizonScore(int Horizon, double Mase, double SmapePercent, double Coverage90, double MaseWarmupScale);

public sealed record ModelScore(string Model, IReadOnlyList<HorizonScore> Horizons)
{
    public HorizonScore At(int horizon) => Horizons.First(h => h.Horizon == horizon);
}

/// <summary>
/// One trace family (the series name up to its first '/', e.g. "alibaba2018"): mean one-step MASE of the automatic
/// choice and of naive, and a look-ahead reference — an AR(16) fitted by least absolute deviations on the whole series
/// in hindsight, scored the same way. The reference is no forecaster (it sees the future); it bounds what a linear
/// model of the level can reach on that family, so a target below it is out of reach for such models.
/// </summary>
public sealed record FamilyScore(string Family, int Series, double AdaptiveMaseH1, double NaiveMaseH1, double HindsightArMaseH1);

/// <summary>Result of a rolling-origin evaluation over many series.</summary>
public sealed record ForecastBenchmarkResult(
    IReadOnlyList<ModelScore> Models,
    double UpdateMicroseconds,
    int SeriesEvaluated,
    long ForecastOrigins,
    IReadOnlyList<FamilyScore> Families)
{
    public ModelScore Model(string name) => Models.First(m => m.Model == name);

    public ModelScore Adaptive => Model("adaptive");

    /// <summary>The JSON fields of the issue: automatic choice vs seasonal naive, coverage and cost.</summary>
    public IReadOnlyDictionary<string, double> SummaryFields()
    {
        var fields = new Dictionary<string, double>(StringComparer.Ordinal);
        var seasonal = Model("seasonal_naive");
        foreach (var score in Adaptive.Horizons)
        {
            fields[$"mase_h{score.Horizon}"] = score.Mase;
            fields[$"seasonal_naive_mase_h{score.Horizon}"] = seasonal.At(score.Horizon).Mase;
        }
        fields["coverage90"] = Adaptive.Horizons.Average(h => h.Coverage90);
        fields["update_us"] = UpdateMicroseconds;
        return fields;
    }

    public string ToJson() => JsonSerializer.Serialize(new
    {
        summary = SummaryFields(),
        series = SeriesEvaluated,
        forecast_origins = ForecastOrigins,
        hindsight_ar_mase_h1 = Families.Sum(f => f.HindsightArMaseH1 * f.Series) / Math.Max(1, Families.Sum(f => f.Series)),
        families = Families.Select(f => new { family = f.Family, series = f.Series, adaptive_mase_h1 = f.AdaptiveMaseH1, naive_mase_h1 = f.NaiveMaseH1, hindsight_ar_mase_h1 = f.HindsightArMaseH1 }),
        models = Models.Select(m => new
        {
            model = m.Model,
            horizons = m.Horizons.Select(h => new { horizon = h.Horizon, mase = h.Mase, mase_warmup_scale = h.MaseWarmupScale, smape = h.SmapePercent, coverage90 = h.Coverage90 }),
        }),
    }, new JsonSerializerOptions { WriteIndented = true });
}

public sealed record ForecastBenchmarkOptions
{
    /// <summary>Intervals seen before the first scored origin; also the in-sample part that scales MASE (576 = two days at 300 s).</summary>
    public int WarmupIntervals { get; init; } = 576;

    /// <summary>Forecaster settings; the bounds are replaced per series by [0, capacity].</summary>
    public AdaptiveForecasterOptions Forecaster { get; init; } = new();
}

/// <summary>
/// Rolling-origin evaluation: each series is fed one interval at a time; after the warm-up, at every
/// origin each model forecasts the requested horizons from what it has seen so far only, and is scored
/// when the targets arrive. MASE divides by the in-sample (warm-up) one-step naive MAE of the series.
/// </summary>
public static class ForecastBenchmark
{
    public static ForecastBenchmarkResult Run(IReadOnlyList<TraceSeries> series, IReadOnlyList<int> horizons, ForecastBenchmarkOptions? options = null)
    {
        options ??= new ForecastBenchmarkOptions();
        var warmup = options.WarmupIntervals;
        var longest = horizons.Max();
        var accumulators = new Dictionary<string, Accumulator[]>(StringComparer.Ordinal);
        long updateTicks = 0, updates = 0, origins = 0;
        var evaluated = 0;
        var families = new Dictionary<string, List<(double Adaptive, double Naive, double Hindsight)>>(StringComparer.Ordinal);
        var oneStep = horizons.ToList().IndexOf(1);

        foreach (var trace in series)
        {
            var y = trace.Values;
            if (y.Length < warmup + longest + 1) continue;
            var naiveErrorSum = 0.0;
            for (var t = 1; t < warmup; t++) naiveErrorSum += Math.Abs(y[t] - y[t - 1]);
            var warmupScale = naiveErrorSum / (warmup - 1);
            if (warmupScale <= 0) continue; // a constant warm-up has no naive error to scale by
            evaluated++;

            var forecasterOptions = options.Forecaster with { Model = options.Forecaster.Model with { Bounds = trace.Bounds } };
            var adaptive = new AdaptiveForecaster(forecasterOptions);
            IReadOnlyList<ForecastModel> models = [adaptive, .. adaptive.Candidates];
            var perSeries = models.Select(_ => horizons.Select(_ => new Accumulator()).ToArray()).ToArray();

            for (var t = 0; t < y.Length; t++)
            {
                var start = Stopwatch.GetTimestamp();
                adaptive.Update(y[t]);
                updateTicks += Stopwatch.GetTimestamp() - start;
                updates++;
                if (t + 1 < warmup) continue;
                if (t >= warmup) naiveErrorSum += Math.Abs(y[t] - y[t - 1]);
                var scale = naiveErrorSum / t; // in-sample one-step naive MAE over y[0..t]
                origins++;
                for (var m = 0; m < models.Count; m++)
                {
                    var forecast = models[m].Forecast(horizons);
                    for (var k = 0; k < horizons.Count; k++)
                    {
                        var target = t + horizons[k];
                        if (target >= y.Length) continue;
                        perSeries[m][k].Add(y[target], forecast[k], scale);
                    }
                }
            }

            if (oneStep >= 0)
            {
                var family = trace.Name.Split('/')[0];
                if (!families.TryGetValue(family, out var members)) families[family] = members = [];
                var naive = models.ToList().FindIndex(m => m is NaiveForecastModel);
                members.Add((perSeries[0][oneStep].Mase, naive >= 0 ? perSeries[naive][oneStep].Mase : double.NaN, HindsightArMase(trace, warmup)));
            }

            for (var m = 0; m < models.Count; m++)
            {
                if (!accumulators.TryGetValue(models[m].Name, out var total))
                    accumulators[models[m].Name] = total = horizons.Select(_ => new Accumulator()).ToArray();
                for (var k = 0; k < horizons.Count; k++) total[k].AddSeries(perSeries[m][k], warmupScale);
            }
        }

        var scores = accumulators.Select(kv => new ModelScore(kv.Key,
            horizons.Select((h, k) => new HorizonScore(h, kv.Value[k].MeanSeriesMase, kv.Value[k].MeanSeriesSmape, kv.Value[k].Coverage, kv.Value[k].MeanSeriesMaseWarmupScale)).ToArray())).ToArray();
        var microseconds = updates == 0 ? 0 : updateTicks * 1e6 / Stopwatch.Frequency / updates;
        var familyScores = families.Select(f => new FamilyScore(f.Key, f.Value.Count, f.Value.Average(v => v.Adaptive), f.Value.Average(v => v.Naive), f.Value.Average(v => v.Hindsight))).ToArray();
        return new ForecastBenchmarkResult(scores, microseconds, evaluated, origins, familyScores);
    }

    /// <summary>One-step MASE (same expanding scale) of an AR(16) fitted on the whole series: a look-ahead reference, not a forecaster.</summary>
    private static double HindsightArMase(TraceSeries trace, int warmup)
    {
        var y = trace.Values;
        var model = new AutoregressiveForecastModel(new ForecastModelOptions { Bounds = trace.Bounds }, maxOrder: 16, historyIntervals: y.Length);
        foreach (var value in y) model.Update(value);
        model.Refit();
        var naiveErrorSum = 0.0;
        for (var t = 1; t < warmup; t++) naiveErrorSum += Math.Abs(y[t] - y[t - 1]);
        double scaled = 0;
        long count = 0;
        for (var t = warmup - 1; t + 1 < y.Length; t++)
        {
            if (t >= warmup) naiveErrorSum += Math.Abs(y[t] - y[t - 1]);
            var scale = naiveErrorSum / t;
            if (scale <= 0) continue;
            var point = model.Intercept;
            for (var i = 0; i < model.Order; i++) point += model.Coefficients[i] * y[Math.Max(0, t - i)];
            scaled += Math.Abs(y[t + 1] - trace.Bounds.Clamp(point)) / scale;
            count++;
        }
        return count == 0 ? double.NaN : scaled / count;
    }

    private sealed class Accumulator
    {
        private double _absoluteError, _scaledError, _smape, _maseSum, _maseWarmupSum, _smapeSum;
        private long _count, _covered, _seriesCount, _coveredTotal, _countTotal;

        public void Add(double actual, ForecastPoint forecast, double scale)
        {
            var error = Math.Abs(actual - forecast.Point);
            _absoluteError += error;
            _scaledError += scale > 0 ? error / scale : 0;
            var denominator = Math.Abs(actual) + Math.Abs(forecast.Point);
            _smape += denominator > 0 ? 200 * error / denominator : 0;
            if (actual >= forecast.Lower && actual <= forecast.Upper) _covered++;
            _count++;
        }

        public void AddSeries(Accumulator series, double scale)
        {
            if (series._count == 0) return;
            _maseSum += series._scaledError / series._count;
            _maseWarmupSum += series._absoluteError / series._count / scale;
            _smapeSum += series._smape / series._count;
            _seriesCount++;
            _coveredTotal += series._covered;
            _countTotal += series._count;
        }

        /// <summary>This series' own MASE (for a per-series accumulator).</summary>
        public double Mase => _count == 0 ? double.NaN : _scaledError / _count;

        public double MeanSeriesMase => _seriesCount == 0 ? double.NaN : _maseSum / _seriesCount;

        public double MeanSeriesMaseWarmupScale => _seriesCount == 0 ? double.NaN : _maseWarmupSum / _seriesCount;

        public double MeanSeriesSmape => _seriesCount == 0 ? double.NaN : _smapeSum / _seriesCount;

        public double Coverage => _countTotal == 0 ? double.NaN : (double)_coveredTotal / _countTotal;
    }
}
