namespace ComputeNet.Actors.Forecasting;

/// <summary>Median, MAD and percentiles on small spans without allocating on the hot path.</summary>
public static class RobustStatistics
{
    /// <summary>Scales a median absolute deviation to a standard deviation under Gaussian noise.</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>Median of <paramref name="values"/>; sorts the span in place.</summary>
    public static double MedianInPlace(Span<double> values) => PercentileInPlace(values, 0.5);

    /// <summary>Linear-interpolated percentile (0..1); sorts the span in place.</summary>
    public static double PercentileInPlace(Span<double> values, double fraction)
    {
        if (values.Length == 0) return double.NaN;
        values.Sort();
        var position = Math.Clamp(fraction, 0, 1) * (values.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, values.Length - 1);
        return values[below] + (position - below) * (values[above] - values[below]);
    }

    /// <summary>Median and noise scale (MAD × 1.4826); overwrites the span.</summary>
    public static (double Median, double Sigma) MedianAndSigmaInPlace(Span<double> values)
    {
        var median = MedianInPlace(values);
        for (var i = 0; i < values.Length; i++) values[i] = Math.Abs(values[i] - median);
        return (median, MadToSigma * MedianInPlace(values));
    }
}
