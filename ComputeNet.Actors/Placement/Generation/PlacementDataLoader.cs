using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement.Generation;

/// <summary>
/// The only file I/O of the placement library: Topology Zoo GraphML and the iFogSim application
/// transcription. The Parse* methods are pure; Load* just read the file first. The product ships
/// no data: callers (CLI, tests) say where the files are.
/// </summary>
public static partial class PlacementDataLoader
{
    public static ZooTopology LoadZooTopology(string path) =>
        ParseZooTopology(File.ReadAllText(path), Path.GetFileNameWithoutExtension(path));

    public static IReadOnlyList<AppSpec> LoadIFogSimApps(string path, IFogSimConversion? conversion = null) =>
        ParseIFogSimApps(File.ReadAllText(path), conversion);

    public static ZooTopology ParseZooTopology(string graphMl, string name)
    {
        XNamespace ns = "http://graphml.graphdrawing.org/xmlns";
        var document = XDocument.Parse(graphMl);
        var keys = document.Descendants(ns + "key")
            .ToDictionary(k => (string)k.Attribute("id")!, k => (string?)k.Attribute("attr.name") ?? "");
        string? Data(XElement element, string attribute) =>
            element.Elements(ns + "data").FirstOrDefault(d => keys.GetValueOrDefault((string)d.Attribute("key")!) == attribute)?.Value;
        double? Number(string? text) =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

        var graph = document.Descendants(ns + "graph").First();
        var nodes = new List<ZooNode>();
        var index = new Dictionary<string, int>();
        foreach (var node in graph.Elements(ns + "node"))
        {
            index[(string)node.Attribute("id")!] = nodes.Count;
            nodes.Add(new ZooNode(Data(node, "label") ?? (string)node.Attribute("id")!,
                Number(Data(node, "Latitude")), Number(Data(node, "Longitude"))));
        }
        var edges = new List<ZooEdge>();
        foreach (var edge in graph.Elements(ns + "edge"))
        {
            if (!index.TryGetValue((string)edge.Attribute("source")!, out var a) ||
                !index.TryGetValue((string)edge.Attribute("target")!, out var b)) continue;
            edges.Add(new ZooEdge(a, b, Number(Data(edge, "LinkSpeedRaw"))));
        }
        return new ZooTopology(name, nodes, edges);
    }

    /// <summary>
    /// iFogSim modules become subtasks, MODULE edges subtask edges, and sensor / actuator edges
    /// edges to and from the user. Field meanings are in shared/data/SOURCES.md; the choices for
    /// what iFogSim does not state are in <see cref="IFogSimConversion"/>.
    /// </summary>
    public static IReadOnlyList<AppSpec> ParseIFogSimApps(string json, IFogSimConversion? conversion = null)
    {
        conversion ??= new IFogSimConversion();
        using var document = JsonDocument.Parse(json);
        var apps = new List<AppSpec>();
        foreach (var app in document.RootElement.GetProperty("applications").EnumerateArray())
        {
            var name = app.GetProperty("appId").GetString()!;
            var modules = app.GetProperty("modules").EnumerateArray().ToArray();
            var moduleIndex = modules.Select((m, i) => (m.GetProperty("name").GetString()!, i)).ToDictionary(p => p.Item1, p => p.i);
            var periodMs = app.TryGetProperty("sensors", out var sensors) && sensors.GetArrayLength() > 0
                ? InterArrivalMs(sensors[0].GetProperty("interArrivalMs"))
                : 10;
            var pins = app.TryGetProperty("pinned", out var p) ? p : default;

            var incomingWorkMi = new double[modules.Length];
            var edges = new List<SubtaskEdge>();
            var seen = new HashSet<(int, int)>();
            foreach (var edge in app.GetProperty("edges").EnumerateArray())
            {
                var from = moduleIndex.GetValueOrDefault(edge.GetProperty("source").GetString()!, SubtaskEdge.User);
                var to = moduleIndex.GetValueOrDefault(edge.GetProperty("destination").GetString()!, SubtaskEdge.User);
                if (to >= 0) incomingWorkMi[to] += edge.GetProperty("tupleCpuLengthMI").GetDouble();
                // iFogSim lists the DISPLAY edge twice (two tuple mappings); one route is enough here.
                if (!seen.Add((from, to)) || (from < 0 && to < 0)) continue;
                var sizeMb = edge.GetProperty("tupleNwLength").GetDouble() * 8 / 1e6;
                var edgePeriodMs = edge.TryGetProperty("periodicityMs", out var period) ? period.GetDouble() : periodMs;
                edges.Add(new SubtaskEdge(from, to)
                {
                    DataPerRequestMb = sizeMb,
                    DataRateMbps = sizeMb * 1000 / edgePeriodMs,
                    TransferDelayThresholdMs = (from < 0 || to < 0 ? conversion.UserEdgeDeadlinePeriods : conversion.ModuleEdgeDeadlinePeriods) * periodMs,
                });
            }

            var subtasks = new List<Subtask>();
            for (var i = 0; i < modules.Length; i++)
            {
                var module = modules[i];
                var moduleName = module.GetProperty("name").GetString()!;
                var cores = Math.Max(0.1, module.GetProperty("mips").GetDouble() / conversion.ReferenceMipsPerCore);
                var demand = new Resources(cores, module.GetProperty("ramMB").GetDouble() / 1024,
                    module.GetProperty("size").GetDouble() / 1024, 0);
                var fastestMs = incomingWorkMi[i] / (conversion.ReferenceMipsPerCore * cores) * 1000;
                subtasks.Add(new Subtask($"{name}.{moduleName}", demand)
                {
                    WorkMi = incomingWorkMi[i],
                    ExecutionTimeThresholdMs = Math.Max(fastestMs * conversion.ExecutionSlack, 1),
                    ReliabilityThreshold = conversion.ReliabilityThreshold,
                    Pinning = PinningOf(pins, moduleName),
                    ImageId = $"{name}/{moduleName}",
                    ImageSizeGb = module.GetProperty("size").GetDouble() / 1024 / 1024,
                });
            }
            apps.Add(new AppSpec(name, subtasks, edges));
        }
        return apps;
    }

    private static Pinning PinningOf(JsonElement pins, string module)
    {
        if (pins.ValueKind != JsonValueKind.Object || !pins.TryGetProperty(module, out var pin)) return Pinning.None;
        var text = pin.GetString() ?? "";
        if (text.Contains("cloud", StringComparison.OrdinalIgnoreCase)) return new Pinning { Tier = NodeTier.Cloud };
        // "every smart camera": the module runs on the device the user (camera) attaches through.
        if (text.Contains("camera", StringComparison.OrdinalIgnoreCase) || text.Contains("mobile", StringComparison.OrdinalIgnoreCase))
            return new Pinning { AtUserAccessNode = true };
        return Pinning.None;
    }

    // The field is a number, a per-version object, or a formula ending in "-> value".
    private static double InterArrivalMs(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                return value.GetDouble();
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                    if (property.Value.ValueKind == JsonValueKind.Number) return property.Value.GetDouble();
                break;
            case JsonValueKind.String:
                var match = TrailingNumber().Match(value.GetString()!);
                if (match.Success) return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                break;
        }
        return 10;
    }

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)\s*$")]
    private static partial Regex TrailingNumber();
}

/// <summary>
/// What the iFogSim transcription leaves open, made explicit: a module's MIPS is read as cores of a
/// 1,000 MIPS reference core; work per request is the MI of the tuples it receives; the execution
/// threshold allows twice the reference time; transfer deadlines are a number of sensor periods.
/// </summary>
public sealed record IFogSimConversion(
    double ReferenceMipsPerCore = 1000,
    double ExecutionSlack = 2,
    double UserEdgeDeadlinePeriods = 10,
    double ModuleEdgeDeadlinePeriods = 20,
    double ReliabilityThreshold = 0.9);
