namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// A small derivative-free minimiser for the few smoothing parameters of the models;
/// bounded by an evaluation budget so a refit has a predictable cost.
/// </summary>
internal static class NelderMead
{
    public static (double[] Point, double Value) Minimise(Func<double[], double> objective, double[] start, double initialStep, int maxEvaluations)
    {
        var n = start.Length;
        var simplex = new double[n + 1][];
        var values = new double[n + 1];
        simplex[0] = (double[])start.Clone();
        values[0] = objective(simplex[0]);
        var evaluations = 1;
        for (var i = 0; i < n; i++)
        {
            var vertex = (double[])start.Clone();
            vertex[i] += initialStep;
            simplex[i + 1] = vertex;
            values[i + 1] = objective(vertex);
            evaluations++;
        }

        var centroid = new double[n];
        while (evaluations < maxEvaluations)
        {
            var order = Enumerable.Range(0, n + 1).OrderBy(i => values[i]).ToArray();
            simplex = order.Select(i => simplex[i]).ToArray();
            values = order.Select(i => values[i]).ToArray();
            if (Math.Abs(values[n] - values[0]) <= 1e-10 * (Math.Abs(values[0]) + 1e-12)) break;

            Array.Clear(centroid);
            for (var i = 0; i < n; i++)
                for (var d = 0; d < n; d++) centroid[d] += simplex[i][d] / n;

            var reflected = Along(centroid, simplex[n], -1.0);
            var reflectedValue = objective(reflected);
            evaluations++;
            if (reflectedValue < values[0])
            {
                var expanded = Along(centroid, simplex[n], -2.0);
                var expandedValue = objective(expanded);
                evaluations++;
                (simplex[n], values[n]) = expandedValue < reflectedValue ? (expanded, expandedValue) : (reflected, reflectedValue);
            }
            else if (reflectedValue < values[n - 1])
            {
                (simplex[n], values[n]) = (reflected, reflectedValue);
            }
            else
            {
                var contracted = Along(centroid, simplex[n], 0.5);
                var contractedValue = objective(contracted);
                evaluations++;
                if (contractedValue < values[n])
                {
                    (simplex[n], values[n]) = (contracted, contractedValue);
                }
                else
                {
                    for (var i = 1; i <= n; i++)
                    {
                        simplex[i] = Along(simplex[0], simplex[i], 0.5);
                        values[i] = objective(simplex[i]);
                        evaluations++;
                    }
                }
            }
        }

        var best = 0;
        for (var i = 1; i <= n; i++) if (values[i] < values[best]) best = i;
        return (simplex[best], values[best]);
    }

    /// <summary>centroid + t·(vertex − centroid).</summary>
    private static double[] Along(double[] centroid, double[] vertex, double t)
    {
        var point = new double[centroid.Length];
        for (var d = 0; d < point.Length; d++) point[d] = centroid[d] + t * (vertex[d] - centroid[d]);
        return point;
    }
}
