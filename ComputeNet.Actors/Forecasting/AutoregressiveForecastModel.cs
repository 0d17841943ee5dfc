namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// AR(p) with intercept, fitted by least squares (normal equations) on the kept history; the order p in
/// [1, maxOrder] is chosen by BIC on a common sample so orders compare fairly. Refits are the
/// caller's schedule; between them an update only appends to the history.
/// </summary>
public sealed class AutoregressiveForecastModel : ForecastModel
{
    private double[] _coefficients = [];   // a_1..a_p: weight of y_{t-1}..y_{t-p}
    private double _intercept;

    /// <param name="maxOrder">Largest lag tried (8 = 40 min at 300 s).</param>
    /// <param name="historyIntervals">Observations the least-squares fit uses (1008 = 3.5 days at 300 s).</param>
    public AutoregressiveForecastModel(ForecastModelOptions options, int maxOrder = 8, int historyIntervals = 1008)
        : base("autoregressive", options, historyIntervals)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOrder, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(historyIntervals, 4 * maxOrder + 8);
        MaxOrder = maxOrder;
    }

    public int MaxOrder { get; }

    /// <summary>Gaussian elimination with partial pivoting on the leading size×size block; null when (near) singular.</summary>
    private static double[]? SolveLeadingBlock(double[,] matrix, double[] rightHandSide, int size)
    {
        var a = new double[size, size + 1];
        var scale = 0.0;
        for (var i = 0; i < size; i++)
        {
            for (var j = 0; j < size; j++)
            {
                a[i, j] = matrix[i, j];
                scale = Math.Max(scale, Math.Abs(matrix[i, j]));
            }
            a[i, size] = rightHandSide[i];
        }
        if (scale == 0) return null;
        for (var column = 0; column < size; column++)
        {
            var pivot = column;
            for (var r = column + 1; r < size; r++)
                if (Math.Abs(a[r, column]) > Math.Abs(a[pivot, column])) pivot = r;
            if (Math.Abs(a[pivot, column]) <= 1e-12 * scale) return null;
            if (pivot != column)
                for (var c = column; c <= size; c++) (a[column, c], a[pivot, c]) = (a[pivot, c], a[column, c]);
            for (var r = column + 1; r < size; r++)
            {
                var factor = a[r, column] / a[column, column];
                for (var c = column; c <= size; c++) a[r, c] -= factor * a[column, c];
            }
        }
        var solution = new double[size];
        for (var i = size - 1; i >= 0; i--)
        {
            var sum = a[i, size];
            for (var j = i + 1; j < size; j++) sum -= a[i, j] * solution[j];
            solution[i] = sum / a[i, i];
        }
        return solution.All(double.IsFinite) ? solution : null;
    }

    /// <summary>
    /// Refine the chosen order's coefficients towards least absolute deviations (iteratively reweighted least squares):
    /// errors are scored in absolute terms, and on spiky usage series a squared-error fit chases the spikes.
    /// </summary>
    public bool LeastAbsoluteFit { get; init; } = true;

    private const int ReweightingIterations = 6;

    /// <summary>IRLS towards the L1 fit of order p on the centred data; returns [c, a_1..a_p] or null when a step is singular.</summary>
    private static double[]? LeastAbsoluteRefinement(double[] centred, int firstTarget, int order, double intercept, double[] coefficients)
    {
        var width = order + 1;
        var solution = new double[width];
        solution[0] = intercept;
        Array.Copy(coefficients, 0, solution, 1, order);
        var rows = centred.Length - firstTarget;
        var residuals = new double[rows];
        var row = new double[width];
        for (var iteration = 0; iteration < ReweightingIterations; iteration++)
        {
            for (var r = 0; r < rows; r++)
            {
                var predicted = solution[0];
                for (var i = 1; i <= order; i++) predicted += solution[i] * centred[firstTarget + r - i];
                residuals[r] = Math.Abs(centred[firstTarget + r] - predicted);
            }
            // Residuals below a small fraction of their median are treated as that floor, so exact fits do not dominate.
            var floor = Math.Max(1e-9, 0.05 * RobustStatistics.MedianInPlace((double[])residuals.Clone()));
            var gram = new double[width, width];
            var moment = new double[width];
            for (var r = 0; r < rows; r++)
            {
                var weight = 1 / Math.Max(residuals[r], floor);
                row[0] = 1;
                for (var c = 1; c < width; c++) row[c] = centred[firstTarget + r - c];
                var y = centred[firstTarget + r];
                for (var i = 0; i < width; i++)
                {
                    moment[i] += weight * row[i] * y;
                    for (var j = i; j < width; j++) gram[i, j] += weight * row[i] * row[j];
                }
            }
            for (var i = 0; i < width; i++)
                for (var j = 0; j < i; j++) gram[i, j] = gram[j, i];
            var next = SolveLeadingBlock(gram, moment, width);
            if (next is null) return iteration == 0 ? null : solution;
            solution = next;
        }
        return solution;
    }

    /// <summary>The lag order chosen by the last refit (0 before any).</summary>
    public int Order => _coefficients.Length;

    public IReadOnlyList<double> Coefficients => _coefficients;

    public double Intercept => _intercept;

    public override bool IsReady => _coefficients.Length > 0;

    public override int MinimumHistory => 4 * MaxOrder + 8;

    protected override void Observe(double value)
    {
    }

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
        for (var i = 0; i < p; i++) lags[p - 1 - i] = History.Back(i + 1);
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
        if (Kept < MinimumHistory) return;
        var data = KeptHistory();
        var maxOrder = MaxOrder;
        var rows = data.Length - maxOrder;

        // Centre first so the intercept column is well scaled for large-valued series (e.g. cluster sums).
        var mean = data.Average();
        var centred = data.Select(v => v - mean).ToArray();

        // Cross products of the largest design [1, y_{t-1}, …, y_{t-maxOrder}] serve every order: the fit of order p
        // solves the normal equations of their leading (p+1)×(p+1) block, so a refit is O(n·maxOrder²).
        // Solved in place rather than with MathNet's QR: its managed provider hands even a 9×9 factorisation to
        // the thread pool, measured at ~1 ms per solve on a busy 2-core machine (vs microseconds here).
        var width = maxOrder + 1;
        var gram = new double[width, width];
        var moment = new double[width];
        var row = new double[width];
        for (var r = 0; r < rows; r++)
        {
            row[0] = 1;
            for (var c = 1; c < width; c++) row[c] = centred[maxOrder + r - c];
            var y = centred[maxOrder + r];
            for (var i = 0; i < width; i++)
            {
                moment[i] += row[i] * y;
                for (var j = i; j < width; j++) gram[i, j] += row[i] * row[j];
            }
        }
        for (var i = 0; i < width; i++)
            for (var j = 0; j < i; j++) gram[i, j] = gram[j, i];

        var bestCriterion = double.PositiveInfinity;
        double[]? bestCoefficients = null;
        var bestIntercept = 0.0;
        for (var p = 1; p <= maxOrder; p++)
        {
            var solution = SolveLeadingBlock(gram, moment, p + 1);
            if (solution is null) continue; // rank deficient, e.g. a constant series
            var rss = 0.0;
            for (var r = 0; r < rows; r++)
            {
                var predicted = solution[0];
                for (var i = 1; i <= p; i++) predicted += solution[i] * centred[maxOrder + r - i];
                var error = centred[maxOrder + r] - predicted;
                rss += error * error;
            }
            rss = Math.Max(rss, 1e-300);
            var criterion = rows * Math.Log(rss / rows) + (p + 1) * Math.Log(rows);
            if (!double.IsFinite(criterion) || criterion >= bestCriterion) continue;
            bestCriterion = criterion;
            bestCoefficients = solution.Skip(1).ToArray();
            // Back to the original scale: y − m = c + Σ a_i (y_{t-i} − m)  ⇒  intercept = c + m (1 − Σ a_i).
            bestIntercept = solution[0] + mean * (1 - bestCoefficients.Sum());
        }

        if (bestCoefficients is not null && LeastAbsoluteFit)
        {
            var robust = LeastAbsoluteRefinement(centred, maxOrder, bestCoefficients.Length, bestIntercept - mean * (1 - bestCoefficients.Sum()), bestCoefficients);
            if (robust is not null)
            {
                bestCoefficients = robust[1..];
                bestIntercept = robust[0] + mean * (1 - bestCoefficients.Sum());
            }
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
