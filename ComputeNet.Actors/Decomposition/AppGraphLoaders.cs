using ComputeNet.Actors.Model;
using System.Globalization;
using System.Text.Json;
using ComputeNet.Actors.Model.Apps;

namespace ComputeNet.Actors.Decomposition;

/// <summary>
/// Reads the real application graphs of shared/data/apps into <see cref="ComponentGraph"/>s. The files' own
/// units are kept where they exist; where a source has no sizes, the stand-in is stated on each method.
/// </summary>
public static class AppGraphLoaders
{
    /// <summary>
    /// Alibaba microservice call graphs (DGG sample). Traffic stand-in: calls per request, read as Mbps; every
    /// service needs 1 core and 1 GB (the trace has no per-service resources). USER, the entry, is pinned to the access node.
    /// </summary>
    public static IReadOnlyList<ComponentGraph> AlibabaCallGraphs(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var graphs = new List<ComponentGraph>();
        var index = 0;
        foreach (var graph in document.RootElement.GetProperty("graphs").EnumerateArray())
        {
            index++;
            var components = graph.GetProperty("nodes").EnumerateArray()
                .Select(n => n.GetProperty("node").GetString()!)
                .Distinct()
                .Select(id => new ComponentNode
                {
                    Id = id,
                    CpuCores = 1,
                    MemoryGb = 1,
                    Pinning = id == "USER" ? Pinning.ToAccessNode() : Pinning.None,
                })
                .ToList();
            var edges = graph.GetProperty("edges").EnumerateArray()
                .Select(e => new ComponentEdge
                {
                    From = e.GetProperty("source").GetString()!,
                    To = e.GetProperty("target").GetString()!,
                    DataRateMbps = e.GetProperty("weight").GetDouble(),
                })
                .ToList();
            var service = graph.TryGetProperty("service", out var s) ? s.GetString() : "graph";
            graphs.Add(new ComponentGraph($"alibaba/{index:00}-{service}", components, edges));
        }

        return graphs;
    }

    /// <summary>
    /// DeathStarBench service graphs. The repository has no sizes or rates, so every edge weighs 1 Mbps and every
    /// service or datastore needs 1 core and 1 GB; only the topology is real.
    /// </summary>
    public static IReadOnlyList<ComponentGraph> DeathStarBench(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var graphs = new List<ComponentGraph>();
        foreach (var app in document.RootElement.GetProperty("applications").EnumerateArray())
        {
            var ids = app.GetProperty("services").EnumerateArray().Select(x => x.GetString()!)
                .Concat(app.TryGetProperty("datastores", out var stores) ? stores.EnumerateArray().Select(x => x.GetString()!) : [])
                .ToList();
            var edges = app.GetProperty("edges").EnumerateArray()
                .Select(e => new ComponentEdge { From = e.GetProperty("from").GetString()!, To = e.GetProperty("to").GetString()!, DataRateMbps = 1 })
                .ToList();
            ids.AddRange(edges.SelectMany(e => new[] { e.From, e.To }).Where(id => !ids.Contains(id)).Distinct().ToList());
            graphs.Add(new ComponentGraph($"deathstarbench/{app.GetProperty("app").GetString()}", [.. ids.Distinct().Select(id => new ComponentNode { Id = id, CpuCores = 1, MemoryGb = 1 })], edges));
        }

        return graphs;
    }

    /// <summary>
    /// A Pegasus workflow execution (WfFormat). A task needs its measured average CPU (cores, at least 0.1) and
    /// memory; a parent → child edge carries the files the child reads from the parent, averaged over the makespan (Mbps).
    /// </summary>
    public static ComponentGraph PegasusWorkflow(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var workflow = document.RootElement.GetProperty("workflow");
        var specification = workflow.GetProperty("specification");
        var execution = workflow.GetProperty("execution");
        var fileBytes = specification.GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!, f => f.GetProperty("sizeInBytes").GetDouble());
        var measured = execution.GetProperty("tasks").EnumerateArray().ToDictionary(t => t.GetProperty("id").GetString()!, t => t);
        var makespanSeconds = Math.Max(1, execution.GetProperty("makespanInSeconds").GetDouble());
        var tasks = specification.GetProperty("tasks").EnumerateArray().ToList();
        var outputs = tasks.ToDictionary(t => t.GetProperty("id").GetString()!, t => t.GetProperty("outputFiles").EnumerateArray().Select(f => f.GetString()!).ToHashSet());
        var components = new List<ComponentNode>();
        var edges = new List<ComponentEdge>();
        foreach (var task in tasks)
        {
            var id = task.GetProperty("id").GetString()!;
            var cpu = 0.1;
            var memoryGb = 0.0;
            var runtimeSeconds = 0.0;
            if (measured.TryGetValue(id, out var m))
            {
                cpu = Math.Max(0.1, (m.TryGetProperty("avgCPU", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetDouble() : 10) / 100);
                memoryGb = m.TryGetProperty("memoryInBytes", out var mem) && mem.ValueKind == JsonValueKind.Number ? mem.GetDouble() / 1e9 : 0;
                runtimeSeconds = m.TryGetProperty("runtimeInSeconds", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetDouble() : 0;
            }

            components.Add(new ComponentNode { Id = id, CpuCores = Math.Round(cpu, 3), MemoryGb = Math.Round(memoryGb, 4), WorkMiPerRequest = runtimeSeconds * 1000 });
            var inputs = task.GetProperty("inputFiles").EnumerateArray().Select(f => f.GetString()!).ToHashSet();
            foreach (var parent in task.GetProperty("parents").EnumerateArray().Select(x => x.GetString()!))
            {
                var bytes = outputs.TryGetValue(parent, out var produced) ? produced.Intersect(inputs).Sum(f => fileBytes.GetValueOrDefault(f)) : 0;
                edges.Add(new ComponentEdge { From = parent, To = id, DataRateMbps = bytes * 8 / 1e6 / makespanSeconds });
            }
        }

        return new ComponentGraph($"pegasus/{Path.GetFileNameWithoutExtension(path)}", components, edges);
    }

    /// <summary>
    /// The iFogSim applications: modules need MIPS/1000 cores and their RAM; a module → module edge carries its
    /// tuple size (bytes) × tuples per second (its period, or the sensor's inter-arrival time). Modules the
    /// example pins to the cloud are pinned to the cloud tier, those pinned to devices to the access node.
    /// </summary>
    public static IReadOnlyList<ComponentGraph> IFogSimApps(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var graphs = new List<ComponentGraph>();
        foreach (var app in document.RootElement.GetProperty("applications").EnumerateArray())
        {
            var pinned = new Dictionary<string, Pinning>();
            if (app.TryGetProperty("pinned", out var pins) && pins.ValueKind == JsonValueKind.Object)
            {
                foreach (var pin in pins.EnumerateObject().Where(x => x.Name != "note" && x.Value.ValueKind == JsonValueKind.String))
                {
                    pinned[pin.Name] = pin.Value.GetString()!.StartsWith("cloud", StringComparison.OrdinalIgnoreCase) ? Pinning.ToTier(NodeTier.Cloud) : Pinning.ToAccessNode();
                }
            }

            var components = app.GetProperty("modules").EnumerateArray().Select(m =>
            {
                var id = m.GetProperty("name").GetString()!;
                return new ComponentNode
                {
                    Id = id,
                    CpuCores = m.GetProperty("mips").GetDouble() / 1000,
                    MemoryGb = m.GetProperty("ramMB").GetDouble() / 1024,
                    WorkMips = m.GetProperty("mips").GetDouble(),
                    Pinning = pinned.GetValueOrDefault(id) ?? Pinning.None,
                };
            }).ToList();
            var sensorRate = app.GetProperty("sensors").EnumerateArray().Select(s => 1000 / InterArrivalMs(s.GetProperty("interArrivalMs"))).DefaultIfEmpty(10).Max();
            var moduleIds = components.Select(c => c.Id).ToHashSet();
            var edges = app.GetProperty("edges").EnumerateArray()
                .Where(e => moduleIds.Contains(e.GetProperty("source").GetString()!) && moduleIds.Contains(e.GetProperty("destination").GetString()!))
                .Select(e =>
                {
                    var perSecond = e.TryGetProperty("periodicityMs", out var period) ? 1000 / period.GetDouble() : sensorRate;
                    return new ComponentEdge
                    {
                        From = e.GetProperty("source").GetString()!,
                        To = e.GetProperty("destination").GetString()!,
                        DataRateMbps = e.GetProperty("tupleNwLength").GetDouble() * 8 * perSecond / 1e6,
                    };
                }).ToList();
            graphs.Add(new ComponentGraph($"ifogsim/{app.GetProperty("appId").GetString()}", components, edges));
        }

        return graphs;
    }

    // The transcription gives a number, a {simulator version: number} object, or a formula ending in "-> value".
    private static double InterArrivalMs(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                return value.GetDouble();
            case JsonValueKind.Object:
                return value.EnumerateObject().Select(p => p.Value).Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetDouble()).DefaultIfEmpty(100).First();
            case JsonValueKind.String:
                var text = value.GetString()!;
                var tail = text[(text.LastIndexOf("->", StringComparison.Ordinal) + 1)..].Trim('>', ' ');
                return double.TryParse(tail, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 ? parsed : 100;
            default:
                return 100;
        }
    }
}
