using ComputeNet.Actors.Forecasting;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Forecasting;

public sealed class ForecastModelTests
{
    private const int Day = 288;
    private static readonly int[] Horizons = [1, 5, 15];
    private static readonly ForecastModelOptions Options = new() { Bounds = ForecastBounds.UpTo(100) };

    private static void Feed(IForecastModel model, IEnumerable<double> values)
    {
        foreach (var value in values) model.Update(value);
    }

    [Fact]
    public void Periodicity_predictor_detects_a_daily_sine_and_forecasts_it()
    {
        var series = SyntheticSeries.NoisySine(5 * Day, Day, level: 50, amplitude: 20, noise: 1, seed: 1);
        var model = new PeriodicityForecastModel(Options);
        Feed(model, series);
        model.Refit();

        model.DetectedPeriod.ShouldBe(Day);
        model.IsReady.ShouldBeTrue();
        foreach (var forecast in model.Forecast(Horizons))
        {
            var truth = SyntheticSeries.TrueSine(series.Length - 1 + forecast.Horizon, Day, 50, 20);
            forecast.Point.ShouldBe(truth, 2.5);
            forecast.Lower.ShouldBeLessThanOrEqualTo(forecast.Point);
            forecast.Upper.ShouldBeGreaterThanOrEqualTo(forecast.Point);
        }
    }

    [Fact]
    public void Periodicity_predictor_finds_no_period_in_white_noise()
    {
        var noise = SyntheticSeries.Jitter(5 * Day, 50, 5, seed: 2);
        PeriodicityForecastModel.DetectPeriod(noise, new PeriodicityOptions()).ShouldBeNull();
    }

    [Fact]
    public void Periodicity_predictor_picks_the_hourly_candidate_for_an_hourly_cycle()
    {
        var series = SyntheticSeries.NoisySine(3 * Day, 12, level: 50, amplitude: 10, noise: 1, seed: 3);
        PeriodicityForecastModel.DetectPeriod(series, new PeriodicityOptions()).ShouldBe(12);
    }

    [Fact]
    public void Holt_winters_fits_a_noisy_daily_sine()
    {
        var series = SyntheticSeries.NoisySine(4 * Day, Day, level: 50, amplitude: 20, noise: 1, seed: 4);
        var model = new HoltWintersForecastModel(Day, Options);
        Feed(model, series);
        model.IsReady.ShouldBeFalse(); // refits are the caller's schedule
        model.Refit();

        model.IsReady.ShouldBeTrue();
        foreach (var forecast in model.Forecast(Horizons))
            forecast.Point.ShouldBe(SyntheticSeries.TrueSine(series.Length - 1 + forecast.Horizon, Day, 50, 20), 2.5);
    }

    [Fact]
    public void Holt_winters_tracks_a_linear_trend()
    {
        var series = SyntheticSeries.Trend(4 * 24, start: 10, slope: 0.5, noise: 0.2, seed: 5);
        var model = new HoltWintersForecastModel(24, new ForecastModelOptions { Bounds = ForecastBounds.NonNegative });
        Feed(model, series);
        model.Refit();

        foreach (var forecast in model.Forecast(Horizons))
        {
            var truth = 10 + 0.5 * (series.Length - 1 + forecast.Horizon);
            // The damped trend (0.98 per interval) under-extrapolates slightly at long horizons, by design.
            forecast.Point.ShouldBe(truth, 0.5 + 0.15 * forecast.Horizon);
        }
    }

    [Fact]
    public void Autoregressive_model_tracks_a_linear_trend()
    {
        var series = SyntheticSeries.Trend(400, start: 10, slope: 0.2, noise: 0.3, seed: 6);
        var model = new AutoregressiveForecastModel(new ForecastModelOptions { Bounds = ForecastBounds.NonNegative });
        Feed(model, series);
        model.Refit();

        model.Order.ShouldBeInRange(1, model.MaxOrder);
        foreach (var forecast in model.Forecast(Horizons))
            forecast.Point.ShouldBe(10 + 0.2 * (series.Length - 1 + forecast.Horizon), 1.5);
    }

    [Fact]
    public void Autoregressive_model_recovers_ar1_dynamics()
    {
        var random = new Random(7);
        var series = new double[1000];
        series[0] = 50;
        for (var t = 1; t < series.Length; t++) series[t] = 20 + 0.6 * series[t - 1] + SyntheticSeries.Gaussian(random);
        var model = new AutoregressiveForecastModel(new ForecastModelOptions { Bounds = ForecastBounds.NonNegative });
        Feed(model, series);
        model.Refit();

        model.Order.ShouldBe(1);
        model.Coefficients[0].ShouldBe(0.6, 0.08);
        model.Forecast([50])[0].Point.ShouldBe(50, 1.0); // the process mean 20 / (1 − 0.6)
    }

    [Fact]
    public void Naive_and_seasonal_naive_repeat_the_right_observations()
    {
        var naive = new NaiveForecastModel(Options);
        var seasonal = new SeasonalNaiveForecastModel(4, Options);
        double[] values = [10, 20, 30, 40, 11, 21, 31, 41];
        Feed(naive, values);
        Feed(seasonal, values);

        naive.Forecast([1, 7]).Select(f => f.Point).ShouldBe([41, 41]);
        seasonal.Forecast([1, 2, 3, 4, 5, 6]).Select(f => f.Point).ShouldBe([11, 21, 31, 41, 11, 21]);
    }

    [Fact]
    public void Recent_median_ignores_a_single_spike()
    {
        var model = new RecentMedianForecastModel(5, Options);
        Feed(model, [10, 11, 95, 10, 12]);
        model.Forecast([1])[0].Point.ShouldBe(11);
    }

    [Fact]
    public void Forecasts_are_clamped_to_capacity()
    {
        var model = new AutoregressiveForecastModel(Options);
        Feed(model, Enumerable.Range(0, 200).Select(t => Math.Min(100, 0.6 * t)));
        model.Refit();
        foreach (var forecast in model.Forecast([1, 15, 100]))
        {
            forecast.Point.ShouldBeInRange(0, 100);
            forecast.Lower.ShouldBeGreaterThanOrEqualTo(0);
            forecast.Upper.ShouldBeLessThanOrEqualTo(100);
        }
    }

    [Fact]
    public void Empirical_interval_covers_about_ninety_percent_of_gaussian_noise()
    {
        var series = SyntheticSeries.Jitter(3000, 50, 5, seed: 8);
        var model = new ExponentialSmoothingForecastModel(Options);
        int covered = 0, total = 0;
        for (var t = 0; t < series.Length; t++)
        {
            if (t == 100) model.Refit();
            if (t > 500)
            {
                var forecast = model.Forecast([1])[0];
                total++;
                if (series[t] >= forecast.Lower && series[t] <= forecast.Upper) covered++;
            }
            model.Update(series[t]);
        }
        ((double)covered / total).ShouldBeInRange(0.85, 0.95);
    }

    [Fact]
    public void Adaptive_forecaster_uses_the_robust_model_on_short_history()
    {
        var forecaster = new AdaptiveForecaster(new AdaptiveForecasterOptions { Model = Options });
        Feed(forecaster, [40, 42, 41, 90, 40, 41]);
        forecaster.ChosenModels(1).ShouldBe(["recent_median"]);
        forecaster.Forecast([1])[0].Point.ShouldBe(41, 0.5);
    }

    [Fact]
    public void Adaptive_forecaster_prefers_seasonal_models_on_a_seasonal_series()
    {
        var series = SyntheticSeries.NoisySine(5 * Day, Day, level: 50, amplitude: 20, noise: 1, seed: 9);
        var forecaster = new AdaptiveForecaster(new AdaptiveForecasterOptions { Model = Options });
        Feed(forecaster, series);

        forecaster.ChosenModels(15).ShouldContain(name => name == "holt_winters" || name == "periodicity_dsp" || name == "autoregressive");
        var forecast = forecaster.Forecast([15])[0];
        forecast.Point.ShouldBe(SyntheticSeries.TrueSine(series.Length - 1 + 15, Day, 50, 20), 3.0);
    }

    [Fact]
    public void After_a_step_every_adaptive_horizon_settles_on_the_new_level()
    {
        // Available cores 60 ± 0.5 for two days, then a step down to 35 for three hours.
        var series = SyntheticSeries.Jitter(2 * Day, 60, 0.5, seed: 21).Concat(SyntheticSeries.Jitter(36, 35, 0.5, seed: 22)).ToArray();
        var forecaster = new AdaptiveForecaster(new AdaptiveForecasterOptions { Model = Options });
        Feed(forecaster, series);

        foreach (var forecast in forecaster.Forecast(Horizons))
        {
            forecast.Point.ShouldBe(35, 1.5, $"h{forecast.Horizon}");
            forecast.Lower.ShouldBeLessThan(35 + 1.5);
            forecast.Upper.ShouldBeGreaterThan(35 - 1.5);
        }
    }

    [Fact]
    public void Exponential_smoothing_follows_a_step_to_the_new_level()
    {
        var model = new ExponentialSmoothingForecastModel(Options);
        Feed(model, Enumerable.Repeat(20.0, 100).Concat(Enumerable.Repeat(50.0, 100)));
        model.Refit();
        model.Forecast([1])[0].Point.ShouldBe(50, 0.5);
    }

    [Fact]
    public void Candidates_reading_the_adaptive_forecasters_shared_history_forecast_as_they_would_alone()
    {
        var series = SyntheticSeries.NoisySine(3 * Day, Day, level: 50, amplitude: 20, noise: 2, seed: 5);
        // No scheduled refits within the series: the adaptive forecaster fits each candidate once, when its history allows.
        var options = new AdaptiveForecasterOptions { Model = Options, RefitEveryIntervals = 100 * Day };
        var adaptive = new AdaptiveForecaster(options);
        var alone = AdaptiveForecaster.DefaultCandidates(options);
        foreach (var value in series)
        {
            adaptive.Update(value);
            foreach (var model in alone)
            {
                model.Update(value);
                if (model.Count == model.MinimumHistory) model.Refit();
            }
        }
        foreach (var (shared, own) in adaptive.Candidates.Zip(alone))
        {
            shared.Refit();
            own.Refit();
            shared.HistoryIntervals.ShouldBe(own.HistoryIntervals);
            shared.Forecast(Horizons).Select(f => f.Point).ShouldBe(own.Forecast(Horizons).Select(f => f.Point), shared.Name);
        }
    }
}
