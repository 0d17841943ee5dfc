using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using ComputeNet.Host.Hosting;
using ComputeNet.Streams;
using ComputeNet.Streams.Registration;
using Confluent.Kafka;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet simulate: a fleet of agents against a running instance. Registers one node per PoP of a real
/// network (a Topology Zoo GraphML file), picks up each node's agent token from computenet.agent-commands,
/// then reports node and link telemetry every interval — optionally replaying a CPU usage trace (CSV).
/// </summary>
public static class SimulateCommand
{
    private static readonly TopicNames Topics = new();

    public sealed record SimNode(string NodeId, string Label, double Latitude, double Longitude, string Tier);

    public sealed record SimLink(string Src, string Dst, double CapacityMbps, double LatencyMs);

    public static async Task<int> RunAsync(CliArgs args)
    {
        var kafka = args.Option("kafka")
                    ?? Endpoints.TryRead(args.Option("data") ?? "data")?.Kafka
                    ?? throw new CliException("where is Kafka? pass --kafka HOST:PORT or --data DIR of a running host (its endpoints.json)");
        var topologyFile = args.Option("topology") ?? Path.Combine(AppContext.BaseDirectory, "samples", "topology", "Abilene.graphml");
        var intervalMs = args.IntOption("interval-ms", 1000);
        var durationS = args.IntOption("duration", 0);
        var (nodes, links) = LoadGraphMl(topologyFile, args.IntOption("nodes", 0));
        var trace = args.Option("trace") is { } traceFile ? LoadCpuTrace(traceFile) : null;
        Console.Error.WriteLine($"simulating {nodes.Count} nodes and {links.Count} links of {Path.GetFileName(topologyFile)} against {kafka}");

        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka, LingerMs = 5 }).Build();
        foreach (var node in nodes)
            producer.Produce(Topics.Registrations, new Message<string, byte[]> { Key = node.NodeId, Value = Encoding.UTF8.GetBytes(Registration(node)) });
        producer.Flush(TimeSpan.FromSeconds(30));

        var tokens = ReadTokens(kafka, nodes.Select(n => n.NodeId).ToHashSet(), TimeSpan.FromSeconds(60));
        Console.Error.WriteLine($"got agent tokens for {tokens.Count} nodes; reporting every {intervalMs} ms (Ctrl+C stops)");

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        if (durationS > 0) stop.CancelAfter(TimeSpan.FromSeconds(durationS));
        var agents = Task.Factory.StartNew(() => AcknowledgeDeployments(kafka, tokens, producer, stop.Token), TaskCreationOptions.LongRunning);
        var random = new Random(7);
        long round = 0, sent = 0;
        while (!stop.IsCancellationRequested)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 0; i < nodes.Count; i++)
            {
                var node = nodes[i];
                if (!tokens.TryGetValue(node.NodeId, out var token)) continue;
                var load = trace is null
                    ? Math.Clamp(0.45 + 0.3 * Math.Sin((round + i * 7) / 30.0) + 0.05 * (random.NextDouble() - 0.5), 0, 1)
                    : trace[(int)((round + i * 37) % trace.Count)];
                var (cores, memory, peak) = Capacity(node.Tier);
                var json = $"{{\"nodeId\":\"{node.NodeId}\",\"agentToken\":\"{token}\",\"seq\":{round},\"ts\":{now}," +
                           $"\"cpuUsedCores\":{F(cores * load)},\"memoryUsedGb\":{F(memory * (0.25 + 0.5 * load))},\"storageUsedGb\":{F(400 + i)}," +
                           $"\"gpuUsed\":0,\"powerW\":{F(peak * (0.3 + 0.7 * load))},\"up\":true}}";
                producer.Produce(Topics.NodeTelemetry, new Message<string, byte[]> { Key = node.NodeId, Value = Encoding.UTF8.GetBytes(json) });
                sent++;
            }
            foreach (var link in links)
            {
                if (!tokens.TryGetValue(link.Src, out var token)) continue;
                var utilisation = 0.2 + 0.5 * random.NextDouble();
                var json = $"{{\"src\":\"{link.Src}\",\"dst\":\"{link.Dst}\",\"agentToken\":\"{token}\",\"seq\":{round},\"ts\":{now}," +
                           $"\"capacityMbps\":{F(link.CapacityMbps)},\"availableMbps\":{F(link.CapacityMbps * (1 - utilisation))}," +
                           $"\"latencyMs\":{F(link.LatencyMs * (1 + 0.3 * utilisation))},\"lossRate\":{F(0.002 * utilisation)},\"up\":true}}";
                producer.Produce(Topics.LinkTelemetry, new Message<string, byte[]> { Key = $"{link.Src}|{link.Dst}", Value = Encoding.UTF8.GetBytes(json) });
                sent++;
            }
            producer.Poll(TimeSpan.Zero);
            round++;
            if (round % 10 == 0) Console.Error.WriteLine($"round {round}: {sent} records sent");
            try
            {
                await Task.Delay(intervalMs, stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await agents;
        producer.Flush(TimeSpan.FromSeconds(30));
        Console.Error.WriteLine($"stopped after {round} rounds, {sent} records");
        return 0;
    }

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static (double Cores, double MemoryGb, double PeakW) Capacity(string tier) => tier switch
    {
        "cloud" => (128, 512, 1200),
        _ => (32, 128, 420),
    };

    // GPUs and core speed as the default node classes assume, so the sample apps' renderers and tight execution-time bounds fit.
    private static (int Gpus, double MipsPerCore) Accelerators(string tier) => tier == "cloud" ? (8, 4000) : (2, 3500);

    private static string Registration(SimNode node)
    {
        var (cores, memory, peak) = Capacity(node.Tier);
        var (gpus, mips) = Accelerators(node.Tier);
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["nodeId"] = node.NodeId, ["region"] = "zoo", ["tier"] = node.Tier, ["cpuCores"] = cores, ["memoryGb"] = memory,
            ["storageGb"] = 2000, ["gpus"] = gpus, ["cpuMipsPerCore"] = mips, ["reliability"] = 0.9995, ["powerIdleW"] = peak * 0.3, ["powerPeakW"] = peak,
            ["labels"] = new Dictionary<string, string> { ["city"] = node.Label },
        });
    }

    /// <summary>The latest provision-agent per node, read from the beginning of the agent-commands topic.</summary>
    private static Dictionary<string, string> ReadTokens(string kafka, HashSet<string> wanted, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka, GroupId = $"computenet-simulate-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(Topics.AgentCommands);
        var tokens = new Dictionary<string, string>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !wanted.IsSubsetOf(tokens.Keys))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message?.Value is not { } value) continue;
            switch (AgentCommand.FromJsonBytes(value))
            {
                case ProvisionAgent p when wanted.Contains(p.NodeId): tokens[p.NodeId] = p.AgentToken; break;
                case RetireAgent r: tokens.Remove(r.NodeId); break;
            }
        }
        consumer.Close();
        if (tokens.Count == 0) throw new CliException("no agent tokens arrived on computenet.agent-commands within a minute; is the host running?");
        return tokens;
    }

    /// <summary>
    /// What the simulated agents do with their commands: every deploy-subtask for a simulated node is acknowledged
    /// as started on computenet.agent-acks, with the node's token, as a real agent would after pulling its images; a
    /// migration's switch-traffic and stop-subtask commands are acknowledged as done, so migrations complete.
    /// </summary>
    private static void AcknowledgeDeployments(string kafka, IReadOnlyDictionary<string, string> tokens, IProducer<string, byte[]> producer, CancellationToken stop)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka, GroupId = $"computenet-simulate-agents-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(Topics.AgentCommands);
        var acknowledged = 0;
        while (!stop.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message?.Value is not { } value) continue;
            var command = AgentCommand.FromJsonBytes(value);
            if (!tokens.TryGetValue(command.NodeId, out var token) || Streams.Deployment.AgentAck.Success(command, token) is not { } success) continue;
            var (topic, ack) = success;
            producer.Produce(topic, new Message<string, byte[]> { Key = ack.NodeId, Value = Streams.Deployment.AgentAckParser.ToJsonBytes(ack) });
            acknowledged++;
            Console.Error.WriteLine(command switch
            {
                DeploySubtask deploy => $"agent of {deploy.NodeId}: started {deploy.AppId}/{deploy.SubtaskId} " +
                                        $"({string.Join(", ", deploy.Components.Select(c => c.Image))}); {acknowledged} acknowledged",
                SwitchTraffic change => $"agent of {change.NodeId}: {change.AppId}/{change.SubtaskId} now sends to " +
                                        $"{string.Join(", ", change.Peers.Select(p => $"{p.SubtaskId}@{p.NodeId}"))}; {acknowledged} acknowledged",
                _ => $"agent of {ack.NodeId}: stopped {ack.AppId}/{ack.SubtaskId}; {acknowledged} acknowledged",
            });
        }
        consumer.Close();
    }

    /// <summary>Nodes (PoPs with coordinates) and links of a Topology Zoo GraphML file; latency from great-circle distance.</summary>
    public static (List<SimNode> Nodes, List<SimLink> Links) LoadGraphMl(string file, int maxNodes)
    {
        XNamespace ns = "http://graphml.graphdrawing.org/xmlns";
        var doc = XDocument.Load(file);
        var keys = doc.Root!.Elements(ns + "key").ToDictionary(k => (string)k.Attribute("id")!, k => (string)k.Attribute("attr.name")!);
        string? Data(XElement e, string name) => e.Elements(ns + "data").FirstOrDefault(d => keys.GetValueOrDefault((string)d.Attribute("key")!) == name)?.Value;

        var network = Path.GetFileNameWithoutExtension(file).ToLowerInvariant();
        var byGraphId = new Dictionary<string, SimNode>();
        var used = new HashSet<string>();
        foreach (var element in doc.Descendants(ns + "node"))
        {
            var label = Data(element, "label") ?? (string)element.Attribute("id")!;
            var slug = new string(label.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
            var id = $"{network}-{(slug.Length > 0 ? slug : element.Attribute("id")!.Value)}";
            for (var n = 2; !used.Add(id); n++) id = $"{network}-{slug}-{n}";
            var lat = double.TryParse(Data(element, "Latitude"), CultureInfo.InvariantCulture, out var la) ? la : 0;
            var lon = double.TryParse(Data(element, "Longitude"), CultureInfo.InvariantCulture, out var lo) ? lo : 0;
            byGraphId[(string)element.Attribute("id")!] = new SimNode(id, label, lat, lon, byGraphId.Count % 4 == 0 ? "cloud" : "edge");
        }
        var nodes = byGraphId.Values.Take(maxNodes > 0 ? maxNodes : int.MaxValue).ToList();
        var kept = nodes.Select(n => n.NodeId).ToHashSet();
        var links = new List<SimLink>();
        var seen = new HashSet<(string, string)>();
        foreach (var edge in doc.Descendants(ns + "edge"))
        {
            var src = byGraphId[(string)edge.Attribute("source")!];
            var dst = byGraphId[(string)edge.Attribute("target")!];
            if (src.NodeId == dst.NodeId || !kept.Contains(src.NodeId) || !kept.Contains(dst.NodeId) || !seen.Add((src.NodeId, dst.NodeId))) continue;
            var capacityMbps = double.TryParse(Data(edge, "LinkSpeedRaw"), CultureInfo.InvariantCulture, out var bps) && bps > 0 ? bps / 1e6 : 10_000;
            // Light in fibre covers ~200 km per ms; routes are longer than great circles, hence the 1.5.
            var latencyMs = 0.5 + 1.5 * GreatCircleKm(src, dst) / 200;
            links.Add(new SimLink(src.NodeId, dst.NodeId, capacityMbps, Math.Round(latencyMs, 2)));
        }
        return (nodes, links);
    }

    private static double GreatCircleKm(SimNode a, SimNode b)
    {
        static double Rad(double d) => d * Math.PI / 180;
        var dLat = Rad(b.Latitude - a.Latitude);
        var dLon = Rad(b.Longitude - a.Longitude);
        var h = Math.Pow(Math.Sin(dLat / 2), 2) + Math.Cos(Rad(a.Latitude)) * Math.Cos(Rad(b.Latitude)) * Math.Pow(Math.Sin(dLon / 2), 2);
        return 2 * 6371 * Math.Asin(Math.Sqrt(h));
    }

    /// <summary>
    /// A CPU utilisation series (0..1) from a CSV whose header has a column with "cpu" in its name holding
    /// percentages (e.g. cpu_util_percent). Not shipped: pass a trace whose licence allows your use.
    /// </summary>
    public static List<double> LoadCpuTrace(string file)
    {
        var lines = File.ReadLines(file).ToList();
        var separator = lines[0].Contains(';') ? ';' : ',';
        var header = lines[0].Split(separator).Select(h => h.Trim().ToLowerInvariant()).ToList();
        var column = header.FindIndex(h => h.Contains("cpu") && (h.Contains('%') || h.Contains("percent") || h.Contains("util") || h.Contains("avg")));
        if (column < 0) column = header.FindIndex(h => h.Contains("cpu"));
        if (column < 0) throw new CliException($"{file}: no column with 'cpu' in its name");
        var values = lines.Skip(1)
            .Select(l => l.Split(separator))
            .Where(f => f.Length > column && double.TryParse(f[column].Trim(), CultureInfo.InvariantCulture, out _))
            .Select(f => Math.Clamp(double.Parse(f[column].Trim(), CultureInfo.InvariantCulture) / 100, 0, 1))
            .ToList();
        return values.Count > 0 ? values : throw new CliException($"{file}: no numeric values in column '{header[column]}'");
    }
}
