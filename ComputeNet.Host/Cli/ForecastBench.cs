using System.Text.Json.Nodes;
using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet bench forecast | drift --trace FILE|DIR: rolling-origin forecast evaluation and injected-step
/// drift detection on real usage traces (the CSV formats of ../shared/data/usage, read by path).
/// </summary>
public static class ForecastBench
{
    private static readonly int[] Horizons = [1, 5, 15];

    public static Task<object> ForecastAsync(CliArgs args)
    {
        var result = ForecastBenchmark.Run(Traces(args), Horizons);
        return Task.FromResult<object>(JsonNode.Parse(result.ToJson())!);
    }

    public static Task<object> DriftAsync(CliArgs args)
    {
        var result = DriftBenchmark.Run(Traces(args));
        return Task.FromResult<object>(JsonNode.Parse(result.ToJson())!);
    }

    private static IReadOnlyList<TraceSeries> Traces(CliArgs args)
    {
        var path = args.Option("trace")
                   ?? (BenchCommands.SharedDataDirectory(args) is { } shared ? Path.Combine(shared, "usage") : null)
                   ?? throw new CliException("pass --trace FILE.csv or a folder of usage traces");
        var series = Directory.Exists(path) ? TraceCsv.LoadDirectory(path)
            : File.Exists(path) ? TraceCsv.Load(path)
            : throw new CliException($"no such trace file or folder: {path}");
        if (series.Count == 0) throw new CliException($"no usable series in {path}");
        Console.Error.WriteLine($"evaluating {series.Count} series from {path}");
        return series;
    }
}
