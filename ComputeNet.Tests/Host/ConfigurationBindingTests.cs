using ComputeNet.Actors.Model;
using ComputeNet.Host.Hosting;
using Microsoft.Extensions.Configuration;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Host;

/// <summary>The README's configuration keys bind to the options the host uses, from every source.</summary>
public sealed class ConfigurationBindingTests
{
    private static ComputeNetOptions Bind(IDictionary<string, string?> environment, params string[] args) =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false)
            .AddInMemoryCollection(environment)
            .AddCommandLine(args, ComputeNetHost.SwitchMappings)
            .Build()
            .GetSection(ComputeNetOptions.Section).Get<ComputeNetOptions>()!;

    [Fact]
    public void Shipped_appsettings_are_the_embedded_defaults()
    {
        var options = Bind(new Dictionary<string, string?>());
        options.DataDir.ShouldBe("data");
        options.Kafka.BootstrapServers.ShouldBeNullOrEmpty();
        options.Kafka.EmbeddedPort.ShouldBe(19092);
        options.Kafka.Topics.Registrations.ShouldBe("computenet.registrations");
        options.Persistence.Provider.ShouldBe("sqlite");
        options.Cluster.SeedNodes.ShouldBeEmpty();
        options.NodeClassCatalog().Classes.Select(c => c.Name).ShouldBe(["device", "edge", "cloud"]);
        options.Kafka.Topics.AgentAcks.ShouldBe("computenet.agent-acks");
        options.Scheduling.Policy.ShouldBe("greedy-objective");
        options.Scheduling.AckTimeoutMs.ShouldBe(60_000);
    }

    [Fact]
    public void Switches_and_nested_keys_override_and_client_settings_pass_through()
    {
        var options = Bind(
            new Dictionary<string, string?>
            {
                ["ComputeNet:Kafka:Client:security.protocol"] = "SASL_SSL",
                ["ComputeNet:Cluster:SeedNodes:0"] = "akka.tcp://computenet@10.0.0.5:4053",
                ["ComputeNet:NodeClasses:0:Name"] = "gateway",
                ["ComputeNet:NodeClasses:0:Tier"] = "Device",
                ["ComputeNet:NodeClasses:0:CpuCores"] = "2",
                ["ComputeNet:NodeClasses:0:MemoryGb"] = "4",
                ["ComputeNet:Scheduling:Policy"] = "edgewards",
                ["ComputeNet:Scheduling:ReservationTtlMs"] = "5000",
            },
            "--data", "/var/lib/computenet", "--kafka", "broker:9092", "--kafka-port", "29092", "--cluster-port", "4053");

        options.DataDir.ShouldBe("/var/lib/computenet");
        options.Kafka.BootstrapServers.ShouldBe("broker:9092");
        options.Kafka.EmbeddedPort.ShouldBe(29092);
        options.Kafka.Client["security.protocol"].ShouldBe("SASL_SSL");
        options.Cluster.Port.ShouldBe(4053);
        options.Cluster.SeedNodes.ShouldBe(["akka.tcp://computenet@10.0.0.5:4053"]);
        var gateway = options.NodeClassCatalog().Classes.ShouldHaveSingleItem();
        gateway.Tier.ShouldBe(NodeTier.Device);
        gateway.CpuCores.ShouldBe(2);
        DeploymentService.SchedulerSettings(options).DefaultPolicy.ShouldBe("edgewards");
        DeploymentService.SchedulerSettings(options).Ttl.ShouldBe(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Forecast_settings_and_drift_thresholds_bind_and_default_as_documented()
    {
        var defaults = Bind(new Dictionary<string, string?>()).Forecast.ToSettings();
        defaults.IntervalMs.ShouldBe(300_000);
        defaults.Horizons.ShouldBe([1, 5, 15]);
        defaults.Detector.TriggerSigmas.ShouldBe(4.0);
        defaults.Detector.PersistenceIntervals.ShouldBe(2);
        defaults.Detector.MinimumRelativeChange.ShouldBe(0.2);
        defaults.Detector.MinimumShiftSigmas.ShouldBe(2.0);

        var options = Bind(
            new Dictionary<string, string?> { ["ComputeNet:Forecast:Horizons:0"] = "2", ["ComputeNet:Forecast:Horizons:1"] = "30" },
            "--ComputeNet:Forecast:IntervalMs=60000", "--ComputeNet:Forecast:Drift:TriggerSigmas=5.5", "--ComputeNet:Forecast:Drift:PersistenceIntervals=3");
        var settings = options.Forecast.ToSettings();
        settings.IntervalMs.ShouldBe(60_000);
        settings.Horizons.ShouldBe([2, 30]);
        settings.Detector.TriggerSigmas.ShouldBe(5.5);
        settings.Detector.PersistenceIntervals.ShouldBe(3);
        settings.Detector.ClearSigmas.ShouldBe(2.0);
    }

    [Fact]
    public void Drift_thresholds_that_contradict_each_other_stop_the_host_with_a_clear_error()
    {
        var options = Bind(new Dictionary<string, string?>(), "--ComputeNet:Forecast:Drift:ClearSigmas=9");
        Should.Throw<ArgumentException>(() => options.Forecast.ToSettings()).Message.ShouldContain("ClearSigmas");
    }

    [Fact]
    public void Telemetry_window_settings_bind_and_impossible_ones_stop_the_stream_before_it_starts_with_a_clear_error()
    {
        var options = Bind(new Dictionary<string, string?>(), "--ComputeNet:Telemetry:WindowQuietMs=250");
        var settings = TelemetryService.PipelineSettings(options, PersistenceSetup.Resolve(options.Persistence, "/tmp"));
        settings.WindowQuiet.ShouldBe(TimeSpan.FromMilliseconds(250));
        settings.AggregationInterval.ShouldBe(TimeSpan.FromSeconds(1));

        var bad = Bind(new Dictionary<string, string?>(), "--ComputeNet:Telemetry:WindowQuietMs=-1", "--ComputeNet:Telemetry:AggregationIntervalMs=0");
        var error = Should.Throw<InvalidOperationException>(() => TelemetryService.PipelineSettings(bad, PersistenceSetup.Resolve(bad.Persistence, "/tmp")));
        error.Message.ShouldContain("AggregationIntervalMs must be positive (is 0)");
        error.Message.ShouldContain("WindowQuietMs may not be negative (is -1");
    }

    [Fact]
    public void An_unknown_persistence_provider_is_a_clear_error()
    {
        Should.Throw<InvalidOperationException>(() => PersistenceSetup.Resolve(new PersistenceOptions { Provider = "oracle" }, "/tmp"))
            .Message.ShouldContain("expected sqlite or postgresql");
        Should.Throw<InvalidOperationException>(() => PersistenceSetup.Resolve(new PersistenceOptions { Provider = "postgresql" }, "/tmp"))
            .Message.ShouldContain("ConnectionString is required");
    }
}
