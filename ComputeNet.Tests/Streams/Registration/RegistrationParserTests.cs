using System.Text;
using ComputeNet.Actors.Model;
using ComputeNet.Streams.Registration;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams.Registration;

public sealed class RegistrationParserTests
{
    private const string Valid = """
        {"nodeId":"edge-7","region":"cn-east","tier":"edge","cpuCores":16,"memoryGb":64,"storageGb":500,
         "gpus":1,"reliability":0.995,"powerIdleW":90,"powerPeakW":310,"labels":{"site":"hangzhou-3"}}
        """;

    private static RegistrationRequest Parse(string json, string? key = "edge-7") =>
        RegistrationParser.Parse(key, Encoding.UTF8.GetBytes(json), isTombstone: false);

    [Fact]
    public void A_valid_registration_becomes_a_node_spec_with_every_field()
    {
        var spec = Parse(Valid).ShouldBeOfType<RegistrationRequest.Register>().Spec;
        spec.NodeId.ShouldBe("edge-7");
        spec.Region.ShouldBe("cn-east");
        spec.Tier.ShouldBe(NodeTier.Edge);
        spec.CpuCores.ShouldBe(16);
        spec.MemoryGb.ShouldBe(64);
        spec.StorageGb.ShouldBe(500);
        spec.Gpus.ShouldBe(1);
        spec.Reliability.ShouldBe(0.995);
        spec.PowerIdleW.ShouldBe(90);
        spec.PowerPeakW.ShouldBe(310);
        spec.CpuMipsPerCore.ShouldBe(NodeSpec.DefaultCpuMipsPerCore);
        spec.Labels["site"].ShouldBe("hangzhou-3");
    }

    [Theory]
    [InlineData("{\"nodeId\":", "malformed JSON")]
    [InlineData("[1,2]", "expected a JSON object")]
    [InlineData("{\"nodeId\":\"edge-7\"}", "missing required field 'region'")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"fog\",\"cpuCores\":1,\"memoryGb\":1,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "unknown tier 'fog'")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":-4,\"memoryGb\":1,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "'cpuCores' = -4 is out of range")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":1,\"storageGb\":1,\"gpus\":0,\"reliability\":1.5,\"powerIdleW\":1,\"powerPeakW\":2}", "'reliability' = 1.5 is out of range")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":\"16GB\",\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "'memoryGb' must be a number in GB, got the string \"16GB\"")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":16384000,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "'memoryGb' = 16384000 is out of range")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":16,\"storageGb\":1,\"gpus\":0.5,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "gpus must be a whole number")]
    [InlineData("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":16,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":300,\"powerPeakW\":200}", "powerPeakW (200 W) must not be below powerIdleW (300 W)")]
    [InlineData("{\"nodeId\":\"bad id/../x\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":16,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "nodeId 'bad id/../x' must be")]
    [InlineData("{\"nodeId\":\"edge-7\",\"action\":\"explode\"}", "unknown action 'explode'")]
    // Node x's telemetry journal is "node-telemetry-x": a node "telemetry-x" would share it.
    [InlineData("{\"nodeId\":\"telemetry-7\",\"region\":\"r\",\"tier\":\"edge\",\"cpuCores\":4,\"memoryGb\":16,\"storageGb\":1,\"gpus\":0,\"reliability\":0.9,\"powerIdleW\":1,\"powerPeakW\":2}", "nodeId 'telemetry-7' must not start with 'telemetry-'")]
    [InlineData("{\"nodeId\":\"telemetry-7\",\"action\":\"deregister\"}", "must not start with 'telemetry-'")]
    public void Invalid_registrations_are_rejected_with_a_reason_naming_the_problem(string json, string expectedReason)
    {
        var invalid = Parse(json).ShouldBeOfType<RegistrationRequest.Invalid>();
        invalid.Reason.ShouldContain(expectedReason);
    }

    [Fact]
    public void Every_problem_in_a_record_is_reported_at_once()
    {
        var invalid = Parse("{\"nodeId\":\"edge-7\",\"region\":\"r\",\"tier\":\"moon\",\"cpuCores\":0,\"memoryGb\":-1}")
            .ShouldBeOfType<RegistrationRequest.Invalid>();
        invalid.Reason.ShouldContain("unknown tier 'moon'");
        invalid.Reason.ShouldContain("'cpuCores' = 0 is out of range");
        invalid.Reason.ShouldContain("'memoryGb' = -1 is out of range");
        invalid.Reason.ShouldContain("missing required field 'reliability'");
    }

    [Fact]
    public void A_key_that_differs_from_the_node_id_is_rejected()
    {
        Parse(Valid, key: "edge-8").ShouldBeOfType<RegistrationRequest.Invalid>()
            .Reason.ShouldContain("record key 'edge-8' does not match nodeId 'edge-7'");
    }

    [Fact]
    public void Oversized_records_are_rejected_before_parsing()
    {
        var huge = new byte[RegistrationParser.DefaultMaxRecordBytes + 1];
        RegistrationParser.Parse("edge-7", huge, isTombstone: false).ShouldBeOfType<RegistrationRequest.Invalid>()
            .Reason.ShouldBe($"record is {huge.Length} bytes, over the limit of {RegistrationParser.DefaultMaxRecordBytes} bytes");
    }

    [Fact]
    public void Deregistration_is_an_action_or_a_tombstone()
    {
        Parse("{\"nodeId\":\"edge-7\",\"action\":\"deregister\"}").ShouldBe(new RegistrationRequest.Deregister("edge-7"));
        RegistrationParser.Parse("edge-7", [], isTombstone: true).ShouldBe(new RegistrationRequest.Deregister("edge-7"));
        RegistrationParser.Parse(null, [], isTombstone: true).ShouldBeOfType<RegistrationRequest.Invalid>();
        RegistrationParser.Parse("telemetry-7", [], isTombstone: true).ShouldBeOfType<RegistrationRequest.Invalid>();
    }

    [Fact]
    public void Parsing_never_throws_on_random_bytes()
    {
        var random = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 300)];
            random.NextBytes(bytes);
            RegistrationParser.Parse("k", bytes, isTombstone: false).ShouldBeOfType<RegistrationRequest.Invalid>();
        }
    }
}
