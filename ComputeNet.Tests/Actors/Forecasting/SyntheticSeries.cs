namespace ComputeNet.Tests.Actors.Forecasting;

/// <summary>Series with known answers, deterministic per seed.</summary>
internal static class SyntheticSeries
{
    public static double[] NoisySine(int length, int period, double level, double amplitude, double noise, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length)
            .Select(t => level + amplitude * Math.Sin(2 * Math.PI * t / period) + noise * Gaussian(random))
            .ToArray();
    }

    public static double TrueSine(long t, int period, double level, double amplitude) =>
        level + amplitude * Math.Sin(2 * Math.PI * t / period);

    public static double[] Trend(int length, double start, double slope, double noise, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(t => start + slope * t + noise * Gaussian(random)).ToArray();
    }

    public static double[] Jitter(int length, double level, double noise, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => level + noise * Gaussian(random)).ToArray();
    }

    public static double Gaussian(Random random)
    {
        // Box-Muller.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
