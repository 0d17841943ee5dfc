using MathNet.Numerics.LinearAlgebra;

namespace ComputeNet.Streams.Forecasting;

/// <summary>
/// AR(p) with intercept, fitted by least squares (QR) on the kept history; the order p in
/// [1, maxOrder] is chosen by BIC on a common sample so orders compare fairly. Refits are the
/// caller's schedule; between them an update only appends to the history.
/// </summary>
public sealed class AutoregressiveForecastModel : ForecastModel
{
    private readonly SeriesHistory _history;
    private double[] _coefficients = [];   // a_1..a_p: weight of y_{t-1}..y_{t-p}
    private double _intercept;

    /// <param name="maxOrder">Largest lag tried (8 = 40 min at 300 s).</param>
    /// <param name="historyIntervals">Observations the least-squares fit uses (1008 = 3.5 days at 300 s).</param>
    public AutoregressiveForecastModel(ForecastModelOptions options, int maxOrder = 8, int historyIntervals = 1008)
        : base("autoregressive", options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOrder, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(historyIntervals, 4 * maxOrder + 8);
        MaxOrder = maxOrder;
        _history = new SeriesHistory(historyIntervals);
    }

    public int MaxOrder { get; }

    /// <summary>The lag order chosen by the last refit (0 before any).</summary>
    public int Order => _coefficients.Length;

    public IReadOnlyList<double> Coefficients => _coefficients;

    public double Intercept => _intercept;

    public override bool IsReady => _coefficients.Length > 0;

    public override int MinimumHistory => 4 * MaxOrder + 8;

    protected override void Observe(double value) => _history.Add(value);

    protected override void FillPointForecasts(Span<double> destination)
    {
        var p = _coefficients.Length;
        if (p == 0)
        {
            destination.Fill(LastValue);
            return;
        }
        // Iterate the recursion, feeding forecasts back as lags.
        Span<double> lags = stackalloc double[p + destination.Length];
        for (var i = 0; i < p; i++) lags[p - 1 - i] = _history.Back(i + 1);
        for (var h = 0; h < destination.Length; h++)
        {
            var next = _intercept;
            for (var i = 0; i < p; i++) next += _coefficients[i] * lags[p + h - 1 - i];
            lags[p + h] = next;
            destination[h] = next;
        }
    }

    protected override void RefitCore()
    {
        if (_history.Length < MinimumHistory) return;
        var data = _history.ToArray();
        var maxOrder = MaxOrder;
        var rows = data.Length - maxOrder;
        var target = Vector<double>.Build.Dense(rows, r => data[maxOrder + r]);

        var bestCriterion = double.PositiveInfinity;
        double[]? bestCoefficients = null;
        var bestIntercept = 0.0;
        for (var p = 1; p <= maxOrder; p++)
        {
            var order = p;
            var design = Matrix<double>.Build.Dense(rows, p + 1, (r, c) => c == 0 ? 1.0 : data[maxOrder + r - c]);
            Vector<double> solution;
            try
            {
                solution = design.QR().Solve(target);
            }
            catch (ArgumentException)
            {
                continue; // rank deficient, e.g. a constant series
            }
            var residuals = target - design * solution;
            var rss = Math.Max(residuals.DotProduct(residuals), 1e-12 * rows);
            var criterion = rows * Math.Log(rss / rows) + (order + 1) * Math.Log(rows);
            if (!double.IsFinite(criterion) || criterion >= bestCriterion || !solution.All(double.IsFinite)) continue;
            bestCriterion = criterion;
            bestIntercept = solution[0];
            bestCoefficients = solution.Skip(1).ToArray();
        }

        if (bestCoefficients is null)
        {
            // Constant or degenerate history: an AR(1) with no dynamics forecasts the mean.
            bestCoefficients = [0.0];
            bestIntercept = data.Average();
        }
        _coefficients = bestCoefficients;
        _intercept = bestIntercept;
    }
}
