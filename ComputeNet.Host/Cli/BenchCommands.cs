using System.Diagnostics;
using System.Text.Json;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet bench SUITE: each suite measures against a baseline run in the same process and prints
/// (and with --json FILE writes) its figures, so numbers are ratios, not wall-clock claims.
/// </summary>
public static class BenchCommands
{
    private static readonly Dictionary<string, Func<CliArgs, Task<object>>> Suites = new(StringComparer.Ordinal)
    {
        ["decompose"] = DecomposeBench.RunAsync,
        ["place"] = PlacementBench.PlaceAsync,
        ["reschedule"] = PlacementBench.RescheduleAsync,
        ["drl"] = PlacementBench.DrlAsync,
        ["forecast"] = ForecastBench.ForecastAsync,
        ["drift"] = ForecastBench.DriftAsync,
        ["ingest"] = async args => await IngestBench.RunAsync(args),
    };

    public static async Task<int> RunAsync(CliArgs args)
    {
        var suite = args.Positional.FirstOrDefault()
                    ?? throw new CliException($"which suite? computenet bench <{string.Join('|', Suites.Keys)}> [--json FILE]");
        if (!Suites.TryGetValue(suite, out var run))
            throw new CliException($"unknown suite '{suite}'; known: {string.Join(", ", Suites.Keys)}");

        var stopwatch = Stopwatch.StartNew();
        var figures = await run(args);
        var json = JsonSerializer.Serialize(figures, JsonOptions);
        Console.WriteLine(json);
        if (args.Option("json") is { } file)
        {
            await File.WriteAllTextAsync(file, json);
            Console.Error.WriteLine($"wrote {file} ({stopwatch.Elapsed.TotalSeconds:F1} s)");
        }
        return 0;
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Finds ../shared/data (beside the repository) for benchmarks that read research data by path.</summary>
    public static string? SharedDataDirectory(CliArgs args)
    {
        if (args.Option("shared-data") is { } explicitDir) return Directory.Exists(explicitDir) ? explicitDir : throw new CliException($"no such directory: {explicitDir}");
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}
