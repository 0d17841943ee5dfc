using System.Globalization;

namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// One named usage series at a fixed interval. Values are the used amount in the trace's unit
/// (percent, cores, KB, ...); <see cref="Capacity"/> is the physical maximum (+∞ when the trace has none).
/// </summary>
public sealed record TraceSeries(string Name, double[] Values, double Capacity, int IntervalSeconds = TraceCsv.IntervalSeconds)
{
    public ForecastBounds Bounds => new(0, Capacity);

    /// <summary>Available amount (capacity − used) for bounded series; the used series itself otherwise.</summary>
    public double[] Available() => double.IsFinite(Capacity)
        ? Values.Select(v => Math.Max(0, Capacity - v)).ToArray()
        : (double[])Values.Clone();
}

/// <summary>
/// Reads the usage traces of shared/data/usage (formats in SOURCES.md) into named series at 300 s.
/// Irregular samples are averaged per 300 s bucket; empty buckets are left out (see <see cref="Bucket"/>).
/// </summary>
public static class TraceCsv
{
    public const int IntervalSeconds = 300;

    /// <summary>Loads every recognised trace in a folder; unknown files are skipped.</summary>
    public static IReadOnlyList<TraceSeries> LoadDirectory(string folder) =>
        Directory.GetFiles(folder, "*.csv").OrderBy(f => f, StringComparer.Ordinal).SelectMany(Load).ToArray();

    /// <summary>Loads one file, recognising its format by name.</summary>
    public static IReadOnlyList<TraceSeries> Load(string path)
    {
        var name = Path.GetFileName(path);
        if (name.StartsWith("alibaba2018_machine_usage", StringComparison.Ordinal)) return LoadAlibabaMachines(path);
        if (name.StartsWith("alibaba2018_cluster_avg", StringComparison.Ordinal)) return LoadColumns(path, "alibaba2018_cluster", 100, ["cpu_util_percent", "mem_util_percent"]);
        if (name.StartsWith("azure2017_vm_cpu", StringComparison.Ordinal)) return LoadAzure2017(path);
        if (name.StartsWith("azure2019_vm_cpu", StringComparison.Ordinal)) return LoadColumns(path, "azure2019", double.PositiveInfinity, ["cpu_usage", "assigned_mem"]);
        if (name.StartsWith("google2019_cell", StringComparison.Ordinal)) return LoadColumns(path, "google2019_cell", 1, ["avg_cpu", "avg_mem"]);
        if (name.StartsWith("bitbrains_", StringComparison.Ordinal)) return LoadBitbrains(path);
        if (name.StartsWith("planetlab_cpu_22vms", StringComparison.Ordinal)) return LoadPlanetLab(path);
        return [];
    }

    private static double Parse(string text) => double.Parse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static IReadOnlyList<TraceSeries> LoadColumns(string path, string prefix, double capacity, string[] columns)
    {
        var lines = File.ReadLines(path).ToArray();
        var header = lines[0].Split(',');
        var indices = columns.Select(c => Array.IndexOf(header, c)).ToArray();
        var values = columns.Select(_ => new List<double>()).ToArray();
        foreach (var line in lines.Skip(1))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split(',');
            for (var c = 0; c < columns.Length; c++) values[c].Add(Parse(fields[indices[c]]));
        }
        return columns.Select((c, i) => new TraceSeries($"{prefix}/{c}", values[i].ToArray(), capacity)).ToArray();
    }

    private static IReadOnlyList<TraceSeries> LoadAzure2017(string path)
    {
        var header = File.ReadLines(path).First().Split(',');
        var averages = header.Where(h => h.EndsWith("_avg", StringComparison.Ordinal)).ToArray();
        return LoadColumns(path, "azure2017", 100, averages);
    }

    private static IReadOnlyList<TraceSeries> LoadAlibabaMachines(string path)
    {
        // machine_id,time_stamp,cpu_util_percent,mem_util_percent,...: irregular (~95 s) samples.
        var samples = new Dictionary<string, List<(double Time, double Cpu, double Memory)>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length < 4 || fields[2].Length == 0 || fields[3].Length == 0) continue;
            if (!samples.TryGetValue(fields[0], out var list)) samples[fields[0]] = list = [];
            list.Add((Parse(fields[1]), Parse(fields[2]), Parse(fields[3])));
        }
        var series = new List<TraceSeries>();
        foreach (var (machine, list) in samples.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var times = list.Select(s => s.Time).ToArray();
            series.Add(new TraceSeries($"alibaba2018/{machine}/cpu", Bucket(times, list.Select(s => s.Cpu).ToArray()), 100));
            series.Add(new TraceSeries($"alibaba2018/{machine}/mem", Bucket(times, list.Select(s => s.Memory).ToArray()), 100));
        }
        return series;
    }

    private static IReadOnlyList<TraceSeries> LoadBitbrains(string path)
    {
        // Fields separated by ";\t"; the timestamp column is Unix seconds despite its "[ms]" header.
        var vm = Path.GetFileNameWithoutExtension(path).Split('_').Last();
        var times = new List<double>();
        var cpu = new List<double>();
        var memory = new List<double>();
        var memoryCapacity = 0.0;
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var fields = line.Split(';');
            if (fields.Length < 7) continue;
            times.Add(Parse(fields[0]));
            cpu.Add(Parse(fields[4]));
            memory.Add(Parse(fields[6]));
            memoryCapacity = Math.Max(memoryCapacity, Parse(fields[5]));
        }
        var t = times.ToArray();
        return
        [
            new TraceSeries($"bitbrains/{vm}/cpu", Bucket(t, cpu.ToArray()), 100),
            new TraceSeries($"bitbrains/{vm}/mem_kb", Bucket(t, memory.ToArray()), memoryCapacity),
        ];
    }

    private static IReadOnlyList<TraceSeries> LoadPlanetLab(string path)
    {
        // One row per (date, vm) with 288 five-minute slots; dates are concatenated in file order
        // (they are not consecutive, so the joins are level breaks the models must live with).
        var byVm = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length < 3) continue;
            if (!byVm.TryGetValue(fields[1], out var values)) byVm[fields[1]] = values = [];
            values.AddRange(fields.Skip(2).Select(Parse));
        }
        return byVm.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new TraceSeries($"planetlab/{kv.Key}", kv.Value.ToArray(), 100)).ToArray();
    }

    /// <summary>
    /// Averages samples into 300 s buckets from the first sample's bucket, in time order. A bucket without samples is
    /// left out, not filled: the live forecaster skips an interval without telemetry too (<see cref="LiveForecaster"/>),
    /// and a filled-in copy of the previous value is no observation to score a forecast against or to count in the
    /// in-sample naive error (the Alibaba machine traces miss up to 64% of the buckets of a day in their first two days).
    /// </summary>
    internal static double[] Bucket(double[] times, double[] values)
    {
        if (times.Length == 0) return [];
        var start = Math.Floor(times.Min() / IntervalSeconds);
        var count = (int)(Math.Floor(times.Max() / IntervalSeconds) - start) + 1;
        var sums = new double[count];
        var counts = new int[count];
        for (var i = 0; i < times.Length; i++)
        {
            var bucket = (int)(Math.Floor(times[i] / IntervalSeconds) - start);
            sums[bucket] += values[i];
            counts[bucket]++;
        }
        var result = new List<double>(count);
        for (var b = 0; b < count; b++)
            if (counts[b] > 0) result.Add(sums[b] / counts[b]);
        return result.ToArray();
    }
}
