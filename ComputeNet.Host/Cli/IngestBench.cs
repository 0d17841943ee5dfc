using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Topology;
using ComputeNet.Host.Hosting;
using ComputeNet.Streams;
using ComputeNet.Streams.Kafka;
using ComputeNet.Streams.Telemetry;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet bench ingest: the same records through (a) a plain Confluent consume loop that parses each
/// record, and (b) the full telemetry pipeline (consume, validate, aggregate, apply to NodeActors,
/// checkpoint, commit), in one process on the embedded Kafka. Records are produced while they are consumed
/// (the mock broker keeps only ~5 MiB per partition), with the producer kept a bounded lead ahead. Both runs talk to
/// the mock broker directly: the loopback forwarder exists for clients outside the process and would only add copies.
/// </summary>
public static class IngestBench
{
    private const int Partitions = 8;
    private const int MaxLeadRecords = 40_000;

    // The mock broker answers a fetch that finds no new records only when fetch.wait.max.ms is up, even if records
    // arrive meanwhile (a real broker answers as soon as they do). Both consumers read at the producer's heels, so with
    // the client's default of 500 ms both would measure the mock's waits: the baseline ran at ~80,000 records/s with it
    // and ~270,000 with 10 ms. Both runs use the same value; the pipeline's consumer is otherwise the host's own.
    private const int MockFetchWaitMs = 10;
    private static long _produced;

    public sealed record Figures(
        int Nodes,
        int Records,
        double BaselineRecordsPerS,
        double PipelineRecordsPerS,
        double Ratio,
        double PeakWorkingSetMb,
        long RecordsLost,
        long RecordsDeadLettered,
        double BaselineSeconds,
        double PipelineSeconds,
        double BaselineCpuUsPerRecord,
        double PipelineCpuUsPerRecord,
        double LoadAverage,
        string Persistence)
    {
        /// <summary>Bytes the process allocated per record in each run: the shared machine's load does not move it.</summary>
        public double BaselineAllocatedBytesPerRecord { get; init; }

        public double PipelineAllocatedBytesPerRecord { get; init; }

        /// <summary>Garbage collections during the pipeline run ("gen0/gen1/gen2") and their total pause.</summary>
        public string PipelineGcCollections { get; init; } = "";

        public double PipelineGcPauseMs { get; init; }

        /// <summary>Seconds until the last record's window was applied; the rest of <see cref="PipelineSeconds"/> waits for its checkpoint and commit.</summary>
        public double PipelineAppliedSeconds { get; init; }

        public double PipelineFinalCommitLagSeconds { get; init; }

        /// <summary>Checkpoints the pipeline run made and the time they took together (each from its start to the last node's reply).</summary>
        public long PipelineCheckpoints { get; init; }

        public double PipelineCheckpointSeconds { get; init; }

        /// <summary>Windows of the pipeline run that closed because the stream went quiet (each checkpointed at once).</summary>
        public long PipelineQuietWindows { get; init; }
    }

    /// <summary>What the process has spent so far; the difference of two is one run's cost.</summary>
    private readonly record struct ProcessCost(TimeSpan Cpu, long Allocated, int Gen0, int Gen1, int Gen2, TimeSpan GcPause)
    {
        public static ProcessCost Now() => new(Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalAllocatedBytes(),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

        public static ProcessCost operator -(ProcessCost a, ProcessCost b) =>
            new(a.Cpu - b.Cpu, a.Allocated - b.Allocated, a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.GcPause - b.GcPause);
    }

    public static async Task<object> RunAsync(CliArgs args)
    {
        var nodes = args.IntOption("nodes", 10_000);
        var records = args.IntOption("records", 500_000);
        var persistence = args.Option("persistence") ?? "sqlite";
        if (nodes < 1 || records < nodes) throw new CliException("--records must be at least --nodes, and --nodes at least 1");

        var data = Path.Combine(Path.GetTempPath(), $"computenet-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        using var kafka = EmbeddedKafka.Start(0);
        var topics = new TopicNames
        {
            NodeTelemetry = "bench.node-telemetry", LinkTelemetry = "bench.link-telemetry", DeadLetter = "bench.deadletter",
        };
        foreach (var topic in new[] { "bench.baseline", topics.NodeTelemetry, topics.LinkTelemetry, topics.DeadLetter })
            kafka.CreateTopic(topic, Partitions);

        var db = PersistenceSetup.Resolve(new PersistenceOptions(), data);
        var cluster = new ClusterNodeOptions();
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("bench", (akka, _) =>
            {
                akka.WithComputeNetSerialization();
                if (persistence == "sqlite") akka.WithComputeNetPersistence(db);
                else akka.AddHocon("""
                    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                    """, Akka.Hosting.HoconAddMode.Prepend);
                akka.WithComputeNetCluster(cluster)
                    .WithComputeNetNodes(cluster, new NodeActorSettings { SilenceTimeout = TimeSpan.FromMinutes(10) })
                    .WithComputeNetTopology(new TopologyActorSettings());
            }))
            .Build();
        await host.StartAsync();
        try
        {
            var system = (ActorSystem)host.Services.GetService(typeof(ActorSystem))!;
            var region = await ((IRequiredActor<NodeRegion>)host.Services.GetService(typeof(IRequiredActor<NodeRegion>))!).GetAsync();
            var topology = await ((IRequiredActor<TopologyKey>)host.Services.GetService(typeof(IRequiredActor<TopologyKey>))!).GetAsync();

            Console.Error.WriteLine($"registering {nodes} nodes ...");
            var tokens = await Register(region, nodes);
            var generator = new RecordGenerator(tokens);

            Console.Error.WriteLine($"baseline: plain consume + parse of {records} records (working set after registering: {Environment.WorkingSet / 1048576} MB, peak {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MB) ...");
            var before = ProcessCost.Now();
            var baseline = await Baseline(kafka, "bench.baseline", new RecordGenerator(tokens), records);
            var baselineCost = ProcessCost.Now() - before;

            Console.Error.WriteLine($"pipeline: consume, validate, aggregate, apply, checkpoint, commit of {records} records (peak working set so far {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MB) ...");
            before = ProcessCost.Now();
            var (checkpointsBefore, checkpointTimeBefore, quietBefore) = (CheckpointMetrics.Checkpoints, CheckpointMetrics.TotalDuration, CheckpointMetrics.QuietWindows);
            var (pipelineSeconds, appliedSeconds, deadLettered) = await Pipeline(kafka, system, region, topology, topics, db, generator, records);
            var pipelineCost = ProcessCost.Now() - before;

            long applied = 0;
            foreach (var chunk in tokens.Keys.Chunk(500))
            {
                var views = await Task.WhenAll(chunk.Select(id =>
                    region.Ask<NodeReplies.NodeTelemetryView>(new NodeQueries.GetNodeTelemetry(id), TimeSpan.FromSeconds(30))));
                applied += views.Sum(v => v.AppliedSamples);
            }

            var baselineRate = records / baseline;
            var pipelineRate = records / pipelineSeconds;
            return new Figures(nodes, records, Math.Round(baselineRate), Math.Round(pipelineRate), Math.Round(pipelineRate / baselineRate, 3),
                Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1), records - applied, deadLettered,
                Math.Round(baseline, 2), Math.Round(pipelineSeconds, 2),
                Math.Round(baselineCost.Cpu.TotalMicroseconds / records, 1), Math.Round(pipelineCost.Cpu.TotalMicroseconds / records, 1), LoadAverage(),
                persistence == "sqlite" ? "sqlite (telemetry journal at every checkpoint)" : "in-memory")
            {
                BaselineAllocatedBytesPerRecord = Math.Round((double)baselineCost.Allocated / records),
                PipelineAppliedSeconds = Math.Round(appliedSeconds, 2),
                PipelineFinalCommitLagSeconds = Math.Round(pipelineSeconds - appliedSeconds, 2),
                PipelineCheckpoints = CheckpointMetrics.Checkpoints - checkpointsBefore,
                PipelineQuietWindows = CheckpointMetrics.QuietWindows - quietBefore,
                PipelineCheckpointSeconds = Math.Round((CheckpointMetrics.TotalDuration - checkpointTimeBefore).TotalSeconds, 2),
                PipelineAllocatedBytesPerRecord = Math.Round((double)pipelineCost.Allocated / records),
                PipelineGcCollections = $"{pipelineCost.Gen0}/{pipelineCost.Gen1}/{pipelineCost.Gen2}",
                PipelineGcPauseMs = Math.Round(pipelineCost.GcPause.TotalMilliseconds),
            };
        }
        finally
        {
            await host.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, true); } catch (IOException) { }
        }
    }

    /// <summary>The machine's one-minute load average (Linux), so a figure can be read against how busy the machine was; -1 elsewhere.</summary>
    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }
    }

    private static async Task<Dictionary<string, string>> Register(IActorRef region, int nodes)
    {
        var tokens = new Dictionary<string, string>();
        foreach (var chunk in Enumerable.Range(0, nodes).Chunk(500))
        {
            var accepted = await Task.WhenAll(chunk.Select(i => region.Ask<NodeReplies.RegistrationAccepted>(
                new NodeCommands.RegisterNode(new NodeSpec($"bench-{i:D5}", $"region-{i % 16}", (NodeTier)(i % 3), 64, 256, 4000, 4, 0.99, 120, 600,
                    NodeSpec.DefaultCpuMipsPerCore, new Dictionary<string, string>())), TimeSpan.FromSeconds(60))));
            foreach (var a in accepted) tokens[a.NodeId] = a.Agent.AgentToken;
        }
        return tokens;
    }

    /// <summary>
    /// Plausible machines: a slow daily-ish wave per node plus noise, within the registered capacity. Written straight to
    /// UTF-8 with each node's key bytes encoded once: the generator runs in the measured process beside the consumer, so
    /// what it costs is taken from both runs' CPU.
    /// </summary>
    private sealed class RecordGenerator(Dictionary<string, string> tokens)
    {
        private readonly (string Id, string Token, byte[] Key)[] _nodes = [.. tokens.Select(t => (t.Key, t.Value, Encoding.UTF8.GetBytes(t.Key)))];
        private readonly long[] _seq = new long[tokens.Count];
        private readonly Random _random = new(42);
        private readonly byte[] _buffer = new byte[1024];
        private int _next;

        public (byte[] Key, byte[] Value) Next()
        {
            var index = _next++ % _nodes.Length;
            var (id, token, key) = _nodes[index];
            var seq = ++_seq[index];
            var load = 0.5 + 0.35 * Math.Sin(seq / 20.0 + index) + 0.1 * (_random.NextDouble() - 0.5);
            var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (!Utf8.TryWrite(_buffer, CultureInfo.InvariantCulture,
                    $"{{\"nodeId\":\"{id}\",\"agentToken\":\"{token}\",\"seq\":{seq},\"ts\":{ts},\"cpuUsedCores\":{64 * load:F2},\"memoryUsedGb\":{256 * (0.3 + 0.4 * load):F1},\"storageUsedGb\":{1200 + index % 500},\"gpuUsed\":{4 * load:F2},\"powerW\":{120 + 480 * load:F0},\"up\":true}}",
                    out var written))
                throw new InvalidOperationException($"a telemetry record for {id} does not fit in {_buffer.Length} bytes");
            return (key, _buffer.AsSpan(0, written).ToArray());
        }
    }

    /// <summary>Produces <paramref name="records"/> records, never more than the lead ahead of what <paramref name="consumed"/> reports.</summary>
    private static Task Produce(EmbeddedKafka kafka, string topic, RecordGenerator generator, int records, Func<long> consumed, CancellationToken cancel) =>
        Task.Factory.StartNew(() =>
        {
            // No delivery reports: records_lost (produced minus applied) is what shows a record that never arrived.
            using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
            {
                BootstrapServers = kafka.DirectBootstrapServers, LingerMs = 20, BatchNumMessages = 10_000, QueueBufferingMaxMessages = 200_000,
                CompressionType = CompressionType.None, EnableDeliveryReports = false,
            }).Build();
            for (var i = 0; i < records && !cancel.IsCancellationRequested; i++)
            {
                while (i - consumed() > MaxLeadRecords && !cancel.IsCancellationRequested) Thread.Sleep(1);
                var (key, value) = generator.Next();
                while (true)
                {
                    try
                    {
                        producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value });
                        Interlocked.Increment(ref _produced);
                        break;
                    }
                    catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10));
                    }
                }
            }
            producer.Flush(TimeSpan.FromSeconds(60));
        }, TaskCreationOptions.LongRunning);

    private static async Task<double> Baseline(EmbeddedKafka kafka, string topic, RecordGenerator generator, int records)
    {
        long consumed = 0;
        using var cancel = new CancellationTokenSource();
        var limits = TelemetryLimits.Default with { MaxRecordBytes = 16 * 1024 };
        var producing = Produce(kafka, topic, generator, records, () => Interlocked.Read(ref consumed), cancel.Token);
        var elapsed = await Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
            {
                BootstrapServers = kafka.DirectBootstrapServers, GroupId = "bench-baseline", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
                ConsumeResultFields = "topic", // as the pipeline's consumer
                FetchWaitMaxMs = MockFetchWaitMs,
            }).Build();
            consumer.Subscribe(topic);
            Stopwatch? clock = null;
            long valid = 0;
            while (Interlocked.Read(ref consumed) < records)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is null) continue;
                clock ??= Stopwatch.StartNew();
                var key = result.Message.Key is { } k ? Encoding.UTF8.GetString(k) : null;
                if (TelemetryParser.ParseNode(key, result.Message.Value, result.Message.Value is null, DateTimeOffset.UtcNow, limits).IsValid) valid++;
                Interlocked.Increment(ref consumed);
            }
            consumer.Close();
            return clock!.Elapsed.TotalSeconds;
        }, TaskCreationOptions.LongRunning);
        await producing;
        return elapsed;
    }

    private static async Task<(double Seconds, double AppliedSeconds, long DeadLettered)> Pipeline(
        EmbeddedKafka kafka, ActorSystem system, IActorRef region, IActorRef topology, TopicNames topics, PersistenceSetup.Resolved db,
        RecordGenerator generator, int records)
    {
        var connection = new KafkaConnection(kafka.DirectBootstrapServers);
        using var publisher = new KafkaPublisher(new ProducerSettings(connection));
        var settings = TelemetryService.PipelineSettings(new ComputeNetOptions { Kafka = { Topics = topics } }, db);
        var handler = new TelemetryHandler(region, topology, publisher, settings, TimeProvider.System);
        var committed = new Dictionary<TopicPartition, long>();
        var allCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Stopwatch? clock = null;
        var firstRecord = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var cancel = new CancellationTokenSource();
        var producing = Produce(kafka, topics.NodeTelemetry, generator, records, () => handler.RecordsParsed, cancel.Token);
        IKafkaControl? control = null;
        var progress = Environment.GetEnvironmentVariable("COMPUTENET_BENCH_PROGRESS") is not null;
        var (killSwitch, completion) = TelemetryPipeline.Run(system.Materializer(),
            TelemetryService.PipelineConsumer(connection, "bench-pipeline") with
            {
                Properties = new Dictionary<string, string> { ["fetch.wait.max.ms"] = MockFetchWaitMs.ToString(CultureInfo.InvariantCulture) },
            }, handler, settings, region, topology,
            onConsumer: c => control = c,
            onCommitted: offsets =>
            {
                lock (committed)
                {
                    foreach (var o in offsets) committed[o.TopicPartition] = o.Offset.Value;
                    if (committed.Values.Sum() >= records) allCommitted.TrySetResult();
                }
            });
        // The clock starts with the first record, as the baseline's does.
        _ = Task.Run(async () =>
        {
            while (handler.RecordsParsed == 0) await Task.Delay(1);
            clock = Stopwatch.StartNew();
            firstRecord.TrySetResult();
        });
        await firstRecord.Task;
        var allApplied = Task.Run(async () =>
        {
            while (handler.RecordsApplied < records) await Task.Delay(5);
            return clock!.Elapsed.TotalSeconds;
        });
        if (progress)
            _ = Task.Run(async () =>
            {
                while (!allCommitted.Task.IsCompleted)
                {
                    long done;
                    lock (committed) done = committed.Values.Sum();
                    Console.Error.WriteLine($"{clock!.Elapsed.TotalSeconds:F1} s: parsed {handler.RecordsParsed}, applied {handler.RecordsApplied}, buffered {control?.Buffered}, committed {done} ({CheckpointMetrics.Checkpoints} checkpoints, {CheckpointMetrics.TotalDuration.TotalSeconds:F2} s), produced {Interlocked.Read(ref _produced)}, working set {Environment.WorkingSet / 1048576} MB, heap {GC.GetTotalMemory(false) / 1048576} MB");
                    await Task.Delay(500);
                }
            });
        await allCommitted.Task.WaitAsync(TimeSpan.FromMinutes(15));
        var seconds = clock!.Elapsed.TotalSeconds;
        await producing;
        killSwitch.Shutdown();
        await completion.WaitAsync(TimeSpan.FromSeconds(30));

        using var admin = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.DirectBootstrapServers, GroupId = "bench-admin" }).Build();
        var deadLettered = Enumerable.Range(0, Partitions)
            .Sum(p => admin.QueryWatermarkOffsets(new TopicPartition(topics.DeadLetter, p), TimeSpan.FromSeconds(5)).High.Value);
        // Every committed offset had its window applied first, so this has finished by now.
        return (seconds, await allApplied.WaitAsync(TimeSpan.FromSeconds(30)), deadLettered);
    }
}
