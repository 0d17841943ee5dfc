using System.Text;
using ComputeNet.Streams.Telemetry;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams.Telemetry;

public sealed class TelemetryParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 5, 0, 0, TimeSpan.Zero);
    private static readonly long NowMs = Now.ToUnixTimeMilliseconds();

    public static string NodeJson(string nodeId = "edge-1", long seq = 1, long? ts = null, string cpu = "3.5", string token = "tok") =>
        $"{{\"nodeId\":\"{nodeId}\",\"agentToken\":\"{token}\",\"seq\":{seq},\"ts\":{ts ?? NowMs},\"cpuUsedCores\":{cpu},\"memoryUsedGb\":12," +
        "\"storageUsedGb\":100,\"gpuUsed\":0,\"powerW\":150,\"up\":true}";

    private static Parsed<NodeTelemetry> Node(string json, string? key = "edge-1") =>
        TelemetryParser.ParseNode(key, Encoding.UTF8.GetBytes(json), false, Now, TelemetryLimits.Default);

    private static Parsed<LinkTelemetry> Link(string json, string? key = null) =>
        TelemetryParser.ParseLink(key, Encoding.UTF8.GetBytes(json), false, Now, TelemetryLimits.Default);

    [Fact]
    public void Valid_node_report_parses_with_units()
    {
        var parsed = Node(NodeJson());
        parsed.Reason.ShouldBeNull();
        parsed.Value!.NodeId.ShouldBe("edge-1");
        parsed.Value.AgentToken.ShouldBe("tok");
        parsed.Value.Sample.CpuUsedCores.ShouldBe(3.5);
        parsed.Value.Sample.TimestampMs.ShouldBe(NowMs);
    }

    [Theory]
    [InlineData("{\"nodeId\":", "malformed JSON")]
    [InlineData("[1,2]", "expected a JSON object")]
    [InlineData("{\"nodeId\":\"edge-1\"}", "missing required field 'agentToken'")]
    [InlineData("{\"nodeId\":\"telemetry-1\"}", "nodeId 'telemetry-1' must not start with 'telemetry-'")]
    public void Broken_node_reports_say_why(string json, string reason) => Node(json).Reason!.ShouldContain(reason);

    [Fact]
    public void Negative_nan_and_out_of_range_values_are_rejected()
    {
        Node(NodeJson(cpu: "-1")).Reason!.ShouldContain("'cpuUsedCores' = -1 is out of range");
        Node(NodeJson(cpu: "\"NaN\"")).Reason!.ShouldContain("'cpuUsedCores' must be a finite number in cores");
        Node(NodeJson(cpu: "1e9")).Reason!.ShouldContain("out of range");
    }

    [Fact]
    public void Timestamps_far_in_the_future_or_stale_are_rejected()
    {
        Node(NodeJson(ts: NowMs + 3_600_000)).Reason!.ShouldContain("3600 s in the future");
        Node(NodeJson(ts: NowMs / 1000)).Reason!.ShouldContain("staler than the limit");
        Node(NodeJson(ts: NowMs - 60_000)).IsValid.ShouldBeTrue();
    }

    [Fact]
    public void Key_must_match_node_and_oversized_records_are_rejected()
    {
        Node(NodeJson(), key: "edge-2").Reason!.ShouldContain("record key 'edge-2' does not match nodeId 'edge-1'");
        var big = NodeJson().Replace("\"up\":true", "\"up\":true,\"pad\":\"" + new string('x', 20_000) + "\"");
        Node(big).Reason!.ShouldStartWith("record is");
        TelemetryParser.ParseNode("edge-1", null, true, Now, TelemetryLimits.Default).Reason!.ShouldContain("tombstone");
    }

    [Fact]
    public void Several_problems_are_reported_together()
    {
        var reason = Node("{\"nodeId\":\"edge-1\",\"agentToken\":\"t\",\"seq\":-3,\"ts\":1,\"cpuUsedCores\":1}").Reason!;
        reason.ShouldContain("'seq' must be a whole number ≥ 0");
        reason.ShouldContain("staler");
        reason.ShouldContain("missing required field 'memoryUsedGb' (GB)");
        reason.ShouldContain("missing required field 'up'");
    }

    private static string LinkJson(string src = "a", string dst = "b", string loss = "0.01", string available = "400") =>
        $"{{\"src\":\"{src}\",\"dst\":\"{dst}\",\"agentToken\":\"tok\",\"seq\":5,\"ts\":{NowMs},\"capacityMbps\":1000," +
        $"\"availableMbps\":{available},\"latencyMs\":4.2,\"lossRate\":{loss},\"up\":true}}";

    [Fact]
    public void Link_reports_check_loss_bandwidth_endpoints_and_key()
    {
        Link(LinkJson(), "a|b").Value!.Sample.LatencyMs.ShouldBe(4.2);
        Link(LinkJson(loss: "1.5")).Reason!.ShouldContain("'lossRate' = 1.5 is out of range");
        Link(LinkJson(available: "2000")).Reason!.ShouldContain("availableMbps (2000 Mbit/s) exceeds capacityMbps (1000 Mbit/s)");
        Link(LinkJson(dst: "a")).Reason!.ShouldContain("src and dst are both 'a'");
        Link(LinkJson(), "b|a").Reason!.ShouldContain("does not match 'a|b' (src|dst)");
    }

    [Fact]
    public void Escaped_names_and_strings_are_read_unescaped()
    {
        var parsed = Node(NodeJson().Replace("\"nodeId\":\"edge-1\"", "\"node\\u0049d\":\"edge\\u002d1\"").Replace("\"tok\"", "\"t\\\"ok\""));
        parsed.Reason.ShouldBeNull();
        parsed.Value!.NodeId.ShouldBe("edge-1");
        parsed.Value.AgentToken.ShouldBe("t\"ok");
        Node(NodeJson(nodeId: "edge\\u00201")).Reason!.ShouldContain("nodeId 'edge 1' must be 1–");
    }

    [Fact]
    public void Reports_of_one_node_share_its_id_and_token_strings_and_invalid_utf8_in_a_string_is_refused()
    {
        var first = Node(NodeJson(seq: 1)).Value!;
        var second = Node(NodeJson(seq: 2)).Value!;
        ReferenceEquals(first.NodeId, second.NodeId).ShouldBeTrue();
        ReferenceEquals(first.AgentToken, second.AgentToken).ShouldBeTrue();

        // A token of bytes that are no UTF-8 is not decoded with replacement characters: the record is refused.
        var bytes = Encoding.UTF8.GetBytes(NodeJson(token: "t__k"));
        var at = Array.IndexOf(bytes, (byte)'_');
        (bytes[at], bytes[at + 1]) = (0xC3, 0x28);
        Should.Throw<InvalidOperationException>(() => TelemetryParser.ParseNode("edge-1", bytes, false, Now, TelemetryLimits.Default));
    }

    [Fact]
    public void Unknown_fields_are_skipped_however_nested_but_not_beyond_the_depth_limit()
    {
        var extra = NodeJson().Replace("\"up\":true", "\"up\":true,\"extra\":{\"a\":[1,{\"b\":\"c\"}],\"d\":null},\"more\":[]");
        Node(extra).IsValid.ShouldBeTrue();
        var deep = NodeJson().Replace("\"up\":true", "\"up\":true,\"extra\":[[[[[[[[[1]]]]]]]]]");
        Node(deep).Reason!.ShouldContain("malformed JSON");
    }

    [Fact]
    public void Wrong_types_are_described_as_received()
    {
        Node(NodeJson(nodeId: "x").Replace("\"x\"", "42")).Reason!.ShouldContain("'nodeId' must be a string, got the number 42");
        Node(NodeJson().Replace("\"up\":true", "\"up\":\"true\"")).Reason!.ShouldContain("'up' must be true or false, got the string \"true\"");
        Node(NodeJson().Replace("\"seq\":1", "\"seq\":1.0")).Reason!.ShouldContain("'seq' must be a whole number ≥ 0, got the number 1.0");
        Node(NodeJson(cpu: "{\"v\":1}")).Reason!.ShouldContain("'cpuUsedCores' must be a finite number in cores, got an object");
        Node(NodeJson(cpu: "[1]")).Reason!.ShouldContain("got an array");
        Node(NodeJson(cpu: "true")).Reason!.ShouldContain("got the boolean true");
        Node(NodeJson(cpu: "null")).Reason!.ShouldContain("missing required field 'cpuUsedCores' (cores)");
        Node(NodeJson(cpu: "1e400")).Reason!.ShouldContain("'cpuUsedCores' must be a finite number in cores, got the number 1e400");
        Node(NodeJson(token: "")).Reason!.ShouldContain("'agentToken' must be a non-empty string of at most 256 characters, got the string \"\"");
    }

    [Fact]
    public void Numbers_given_as_strings_are_rejected()
    {
        Node(NodeJson(cpu: "\"3.5\"")).Reason!.ShouldContain("'cpuUsedCores' must be a finite number in cores, got the string \"3.5\"");
        Node(NodeJson().Replace($"\"ts\":{NowMs}", $"\"ts\":\"{NowMs}\"")).Reason!.ShouldContain("'ts' must be whole UTC milliseconds");
    }

    [Fact]
    public void With_a_name_given_twice_the_later_value_counts()
    {
        Node(NodeJson(cpu: "\"bad\",\"cpuUsedCores\":2")).Value!.Sample.CpuUsedCores.ShouldBe(2);
        Node(NodeJson(cpu: "2,\"cpuUsedCores\":-1")).Reason!.ShouldContain("'cpuUsedCores' = -1 is out of range");
        Node(NodeJson(cpu: "2,\"cpuUsedCores\":null")).Reason!.ShouldContain("missing required field 'cpuUsedCores'");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"nodeId\":\"edge-1\"} x")]
    [InlineData("{\"nodeId\":\"edge-1\",}")]
    [InlineData("{\"nodeId\":\"edge-1\"}{}")]
    [InlineData("[1,2")]
    public void Malformed_json_anywhere_in_the_record_is_reported_as_such(string json) => Node(json).Reason!.ShouldStartWith("malformed JSON: ");

    [Fact]
    public void Whitespace_around_the_object_is_fine_and_non_objects_are_named()
    {
        Node(" \n" + NodeJson() + "\r\n ").IsValid.ShouldBeTrue();
        Node("\"text\"").Reason.ShouldBe("expected a JSON object, got String");
        Node("null").Reason.ShouldBe("expected a JSON object, got Null");
    }

    [Fact]
    public void Oversized_records_are_rejected_before_they_are_read()
    {
        var limits = TelemetryLimits.Default with { MaxRecordBytes = 100 };
        var bytes = Encoding.UTF8.GetBytes(NodeJson());
        TelemetryParser.ParseNode("edge-1", bytes, false, Now, limits).Reason.ShouldBe($"record is {bytes.Length} bytes, over the limit of 100 bytes");
    }
}
