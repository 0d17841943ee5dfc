using ComputeNet.Actors.Forecasting;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace ComputeNet.Tests.Actors.Forecasting;

/// <summary>Invariants every model keeps on arbitrary bounded series: inside [0, capacity], and intervals never narrow with the horizon.</summary>
public sealed class ForecastPropertyTests
{
    private static readonly int[] Horizons = [1, 2, 3, 5, 8, 15, 30];

    /// <summary>Capacity in 1..500 and a series of 1..700 values in [0, capacity], mixing smooth, seasonal and erratic shapes.</summary>
    private static Arbitrary<(double Capacity, double[] Series)> BoundedSeries() =>
        (from capacity in Gen.Choose(1, 500)
         from length in Gen.Choose(1, 700)
         from shape in Gen.Choose(0, 2)
         from raw in Gen.ArrayOf(Gen.Choose(0, 1000), length)
         select ((double)capacity, raw.Select((r, t) => Shape(shape, r, t) * capacity).ToArray())).ToArbitrary();

    private static double Shape(int shape, int raw, int t) => shape switch
    {
        0 => raw / 1000.0,
        1 => Math.Clamp(0.5 + 0.45 * Math.Sin(2 * Math.PI * t / 24) + (raw - 500) / 10000.0, 0, 1),
        _ => raw < 900 ? 0.02 * raw / 1000.0 : 1.0, // mostly idle with bursts at capacity
    };

    private static IEnumerable<IForecastModel> Models(double capacity)
    {
        var model = new ForecastModelOptions { Bounds = ForecastBounds.UpTo(capacity) };
        var adaptive = new AdaptiveForecasterOptions
        {
            Model = model,
            SeasonIntervals = 24,
            Periodicity = new PeriodicityOptions { CandidatePeriods = [6, 24], HistoryIntervals = 200 },
            RefitEveryIntervals = 48,
        };
        yield return new AdaptiveForecaster(adaptive);
        yield return new HoltWintersForecastModel(24, model);
        yield return new AutoregressiveForecastModel(model);
    }

    private static bool Holds(double capacity, double[] series)
    {
        foreach (var model in Models(capacity))
        {
            for (var t = 0; t < series.Length; t++)
            {
                model.Update(series[t]);
                if (t % 97 == 96) model.Refit();
            }
            var previousWidth = 0.0;
            foreach (var forecast in model.Forecast(Horizons))
            {
                if (forecast.Lower < 0 || forecast.Upper > capacity) return false;
                if (forecast.Point < forecast.Lower || forecast.Point > forecast.Upper) return false;
                if (forecast.Width < previousWidth - 1e-9) return false;
                previousWidth = forecast.Width;
            }
        }
        return true;
    }

    [Fact]
    public void Forecasts_stay_within_zero_and_capacity_and_intervals_widen_with_the_horizon()
    {
        Prop.ForAll(BoundedSeries(), input => Holds(input.Capacity, input.Series)).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Horizons_out_of_order_give_the_same_forecasts_as_sorted()
    {
        Prop.ForAll(BoundedSeries(), input =>
        {
            var model = new AdaptiveForecaster(new AdaptiveForecasterOptions { Model = new ForecastModelOptions { Bounds = ForecastBounds.UpTo(input.Capacity) } });
            foreach (var value in input.Series) model.Update(value);
            var sorted = model.Forecast([1, 5, 15]);
            var shuffled = model.Forecast([15, 1, 5]);
            return sorted[0] == shuffled[1] && sorted[1] == shuffled[2] && sorted[2] == shuffled[0];
        }).QuickCheckThrowOnFailure();
    }
}
