using ComputeNet.Actors.Forecasting;
using ComputeNet.Actors.Forecasting.Drift;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Actors.Placement.Learning;
using ComputeNet.Actors.Scheduling;
using ComputeNet.Streams;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Everything an operator can configure, bound from the "ComputeNet" section of appsettings.json,
/// environment variables (ComputeNet__Kafka__BootstrapServers=...) and command-line switches.
/// With nothing set, the host runs on embedded defaults.
/// </summary>
public sealed class ComputeNetOptions
{
    public const string Section = "ComputeNet";

    /// <summary>Where the SQLite journal and endpoints.json live (--data).</summary>
    public string DataDir { get; set; } = "data";

    public KafkaOptions Kafka { get; set; } = new();
    public PersistenceOptions Persistence { get; set; } = new();
    public ClusterNodeOptions Cluster { get; set; } = new();
    public RegistrationOptions Registration { get; set; } = new();
    public TelemetryOptions Telemetry { get; set; } = new();
    public ForecastOptions Forecast { get; set; } = new();

    public SchedulingOptions Scheduling { get; set; } = new();

    public DrlOptions Drl { get; set; } = new();
    public RuntimeAdjustmentOptions Adjustment { get; set; } = new();

    /// <summary>
    /// The node classes apps are decomposed for and validated against (device / edge / cloud by default).
    /// Setting any replaces the defaults.
    /// </summary>
    public List<NodeClassOptions> NodeClasses { get; set; } = [];

    public NodeClassCatalog NodeClassCatalog() =>
        NodeClasses.Count == 0
            ? Actors.Model.Apps.NodeClassCatalog.Default
            : new Actors.Model.Apps.NodeClassCatalog([.. NodeClasses.Select(c => c.ToNodeClass())]);
}

public sealed class NodeClassOptions
{
    public string Name { get; set; } = "";
    public NodeTier Tier { get; set; } = NodeTier.Edge;
    public double CpuCores { get; set; }
    public double MemoryGb { get; set; }
    public double StorageGb { get; set; }
    public int Gpus { get; set; }
    public double SpeedMipsPerCore { get; set; } = NodeSpec.DefaultCpuMipsPerCore;
    public double Reliability { get; set; } = 0.99;

    public NodeClass ToNodeClass() =>
        CpuCores > 0 && MemoryGb > 0 && !string.IsNullOrWhiteSpace(Name) && Reliability is > 0 and <= 1
            ? new NodeClass(Name, Tier, CpuCores, MemoryGb, StorageGb, Gpus, SpeedMipsPerCore, Reliability)
            : throw new InvalidOperationException(
                $"ComputeNet:NodeClasses entry '{Name}' needs a name, cpuCores > 0, memoryGb > 0 and reliability in (0, 1]");
}

/// <summary>Awareness (算力感知): how telemetry is checked, aggregated and turned into health.</summary>
public sealed class TelemetryOptions
{
    /// <summary>Larger telemetry records are dead-lettered unread.</summary>
    public int MaxRecordBytes { get; set; } = 16 * 1024;

    /// <summary>Tumbling window: samples are grouped per node/link and applied at least this often.</summary>
    public int AggregationIntervalMs { get; set; } = 1000;

    /// <summary>A window closes early at this many records (bounds the stream's memory); see <see cref="ComputeNet.Streams.Telemetry.TelemetrySettings.MaxRecordsPerWindow"/>.</summary>
    public int MaxRecordsPerWindow { get; set; } = 100_000;

    /// <summary>A window closes early once no record has arrived for this long, and is checkpointed and committed at once; 0 turns it off. See <see cref="ComputeNet.Streams.Telemetry.TelemetrySettings.WindowQuiet"/>.</summary>
    public int WindowQuietMs { get; set; } = 100;

    /// <summary>How often applied telemetry is snapshotted and its offsets committed.</summary>
    public int CheckpointIntervalMs { get; set; } = 1000;

    /// <summary>A node or link silent this long is marked down.</summary>
    public int SilenceTimeoutMs { get; set; } = 30_000;

    /// <summary>Usage may exceed the registered capacity by this fraction before a sample is rejected.</summary>
    public double CapacityTolerance { get; set; } = 0.1;

    /// <summary>Timestamps further ahead of the host's clock are rejected.</summary>
    public int MaxClockAheadMs { get; set; } = 300_000;

    /// <summary>Older timestamps are rejected as stale.</summary>
    public int MaxAgeMs { get; set; } = 3_600_000;

    /// <summary>Window aggregates kept per node (GET /api/nodes/{id}/telemetry).</summary>
    public int HistoryWindows { get; set; } = 60;

    /// <summary>The window and checkpoint settings the stream cannot run with, refused before it starts rather than in its restart loop.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (AggregationIntervalMs <= 0) problems.Add($"AggregationIntervalMs must be positive (is {AggregationIntervalMs})");
        if (MaxRecordsPerWindow < 1) problems.Add($"MaxRecordsPerWindow must be at least 1 (is {MaxRecordsPerWindow})");
        if (WindowQuietMs < 0) problems.Add($"WindowQuietMs may not be negative (is {WindowQuietMs}; 0 turns the quiet rule off)");
        if (CheckpointIntervalMs < 0) problems.Add($"CheckpointIntervalMs may not be negative (is {CheckpointIntervalMs})");
        if (problems.Count > 0) throw new InvalidOperationException("ComputeNet:Telemetry: " + string.Join("; ", problems));
    }
}

/// <summary>Prediction (算力预测) and drift detection on every node's and link's telemetry.</summary>
public sealed class ForecastOptions
{
    /// <summary>Forecasting interval in the agents' clock; samples are averaged per interval. The defaults below are tuned for 5 min.</summary>
    public long IntervalMs { get; set; } = 300_000;

    /// <summary>Horizons served, in intervals (empty: 1, 5, 15).</summary>
    public int[] Horizons { get; set; } = [];

    /// <summary>Closed intervals kept and snapshotted per node / link: what forecasts are rebuilt from after a restart.</summary>
    public int HistoryIntervals { get; set; } = 288;

    /// <summary>Season of Holt-Winters and seasonal naive, in intervals (288 = one day at 5 min).</summary>
    public int SeasonIntervals { get; set; } = 288;

    /// <summary>Refit cadence of the fitted models, in intervals.</summary>
    public int RefitEveryIntervals { get; set; } = 288;

    /// <summary>Drift detector thresholds, bound straight onto the detector's options (defaults documented in the README).</summary>
    public DriftDetectorOptions Drift { get; set; } = new();

    /// <summary>Recent drift events kept for GET /api/events?type=drift.</summary>
    public int DriftEventsKept { get; set; } = 1000;

    public LiveForecastSettings ToSettings()
    {
        var forecaster = new AdaptiveForecasterOptions { SeasonIntervals = SeasonIntervals, RefitEveryIntervals = RefitEveryIntervals };
        var settings = new LiveForecastSettings
        {
            IntervalMs = IntervalMs,
            Horizons = Horizons.Length == 0 ? [1, 5, 15] : Horizons,
            HistoryIntervals = HistoryIntervals,
            Forecaster = forecaster with { Model = forecaster.Model with { TrackedHorizons = Math.Max(15, Horizons.DefaultIfEmpty(15).Max()) } },
            Detector = Drift,
        };
        settings.Validate();
        return settings;
    }
}

public sealed class KafkaOptions
{
    /// <summary>A real Kafka cluster (--kafka host:port). Empty: start the embedded broker.</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>Port of the embedded broker (--kafka-port); falls back to a free port when taken.</summary>
    public int EmbeddedPort { get; set; } = 19092;

    /// <summary>Partitions of each topic the embedded broker creates.</summary>
    public int EmbeddedPartitions { get; set; } = 4;

    /// <summary>Consumer group of the host's pipelines.</summary>
    public string GroupId { get; set; } = "computenet";

    /// <summary>Passed verbatim to every Confluent client, e.g. "security.protocol": "SASL_SSL".</summary>
    public Dictionary<string, string> Client { get; set; } = new();

    public TopicNames Topics { get; set; } = new();
}

public sealed class PersistenceOptions
{
    /// <summary>"sqlite" (default, a file in DataDir) or "postgresql".</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>Connection string; for sqlite it defaults to DataDir/computenet.db.</summary>
    public string? ConnectionString { get; set; }
}

public sealed class ClusterNodeOptions
{
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Akka remoting port; 0 picks a free one (fine for a one-node cluster).</summary>
    public int Port { get; set; }

    /// <summary>Seed node addresses (akka.tcp://computenet@host:port); empty: the node joins itself.</summary>
    public string[] SeedNodes { get; set; } = [];

    /// <summary>Fixed for the life of a cluster: aim for ~10× the number of cluster members.</summary>
    public int Shards { get; set; } = 100;
}

public sealed class RegistrationOptions
{
    /// <summary>Records larger than this are dead-lettered unread.</summary>
    public int MaxRecordBytes { get; set; } = 64 * 1024;

    /// <summary>Telemetry interval handed to every provisioned agent.</summary>
    public int AgentReportingIntervalMs { get; set; } = 5000;
}

/// <summary>The learned placement policy's self-evolving mode (off by default).</summary>
public sealed class DrlOptions
{
    /// <summary>Record the drl policy's decisions and fine-tune a copy of its model in the background, swapping it in only if it scores better.</summary>
    public bool SelfEvolving { get; set; }

    /// <summary>Time between fine-tune rounds.</summary>
    public int EvolveIntervalSeconds { get; set; } = 600;

    /// <summary>Decisions recorded before the first round runs.</summary>
    public int MinDecisions { get; set; } = 32;

    /// <summary>PPO updates per round (each replays a few recorded decisions).</summary>
    public int UpdatesPerRound { get; set; } = 8;

    public PolicyEvolutionSettings? Settings(string dataDir) => !SelfEvolving ? null
        : EvolveIntervalSeconds <= 0 || MinDecisions < 2 || UpdatesPerRound <= 0
            ? throw new InvalidOperationException("ComputeNet:Drl: EvolveIntervalSeconds and UpdatesPerRound must be positive, MinDecisions at least 2")
            : new PolicyEvolutionSettings(TimeSpan.FromSeconds(EvolveIntervalSeconds), Path.Combine(dataDir, "models"),
                new EvolutionOptions(MinDecisions: MinDecisions, Updates: UpdatesPerRound));
}

/// <summary>Scheduling (泛在调度), reservations (资源预留) and deployment through the agents.</summary>
public sealed class SchedulingOptions
{
    /// <summary>Placement policy (a name from PolicyRegistry): greedy-objective, best-fit, first-fit, kubernetes, edgewards, cp-sat, drl (the learned policy; its shipped model).</summary>
    public string Policy { get; set; } = "greedy-objective";

    /// <summary>How long a reservation waits for its commit before the node releases it.</summary>
    public int ReservationTtlMs { get; set; } = 30_000;

    /// <summary>Plans tried when nodes refuse reservations (capacity taken meanwhile) before the app is rejected.</summary>
    public int MaxPlanningRounds { get; set; } = 5;

    /// <summary>How old the scheduler's view of node capacities may be when a plan starts.</summary>
    public int FleetRefreshMs { get; set; } = 2_000;

    /// <summary>Agents must acknowledge a deploy command within this time, or the subtask is re-placed.</summary>
    public int AckTimeoutMs { get; set; } = 60_000;

    /// <summary>Failed deployments re-placed before the app is rejected.</summary>
    public int MaxReplacements { get; set; } = 3;
}

/// <summary>Runtime adjustment (运行调整): when the rescheduler reviews running apps, and how it damps moves.</summary>
public sealed class RuntimeAdjustmentOptions
{
    /// <summary>Off: drift is recorded and published, but no app is moved.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Every running app is reviewed this often without a drift event (forecast-aware checks).</summary>
    public int CheckIntervalMs { get; set; } = 30_000;

    /// <summary>Drift events arriving within this long are assessed together.</summary>
    public int DebounceMs { get; set; } = 200;

    /// <summary>Review against the node and link forecasts too, so apps move before a constraint breaks.</summary>
    public bool UseForecasts { get; set; } = true;

    /// <summary>How long a non-urgent trigger must persist before an app moves (a blip is not worth a migration).</summary>
    public int TriggerHoldMs { get; set; } = 5_000;

    /// <summary>Hysteresis: a triggered app counts as clear only when its pressure (1 = at a limit) falls to this.</summary>
    public double ClearRatio { get; set; } = 0.9;

    /// <summary>After a move, no further non-urgent move of the same app for this long.</summary>
    public int CoolDownMs { get; set; } = 120_000;

    /// <summary>Rate limit: at most this many re-placements of one app per <see cref="RateWindowMs"/>, urgent or not.</summary>
    public int MaxMovesPerWindow { get; set; } = 3;

    public int RateWindowMs { get; set; } = 1_800_000;

    /// <summary>A subtask may not return to a node it left within this long (no ping-pong).</summary>
    public int PingPongWindowMs { get; set; } = 1_800_000;

    /// <summary>An app whose share of the objective grew by more than this fraction is re-placed.</summary>
    public double ObjectiveMargin { get; set; } = 0.25;

    public Actors.Scheduling.ReschedulerSettings ToSettings() => new(
        TimeSpan.FromMilliseconds(CheckIntervalMs),
        TimeSpan.FromMilliseconds(DebounceMs),
        new Actors.Placement.AdjustmentOptions(
            new Actors.Placement.ImpactOptions(ObjectiveMargin),
            new Actors.Placement.StabilityOptions(TimeSpan.FromMilliseconds(TriggerHoldMs), ClearRatio, TimeSpan.FromMilliseconds(CoolDownMs),
                MaxMovesPerWindow, TimeSpan.FromMilliseconds(RateWindowMs), TimeSpan.FromMilliseconds(PingPongWindowMs))),
        UseForecasts);
}
