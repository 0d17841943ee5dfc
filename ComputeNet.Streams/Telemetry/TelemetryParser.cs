using System.Text.Json;
using ComputeNet.Actors.Model;
using ComputeNet.Streams.Registration;

using static ComputeNet.Streams.JsonText;

namespace ComputeNet.Streams.Telemetry;

/// <summary>A node's report on computenet.node-telemetry (key: node id); schemas/node-telemetry.schema.json.</summary>
public sealed record NodeTelemetry(string NodeId, string AgentToken, NodeUsageSample Sample);

/// <summary>A link report on computenet.link-telemetry (key: "src|dst"); schemas/link-telemetry.schema.json.</summary>
public sealed record LinkTelemetry(string Src, string Dst, string AgentToken, LinkSample Sample);

/// <summary>A record that passed the schema, or why it did not.</summary>
public readonly record struct Parsed<T>(T? Value, string? Reason) where T : class
{
    public bool IsValid => Value is not null;
    public static Parsed<T> Invalid(string reason) => new(null, reason);
}

/// <summary>Limits the schema check applies; all times are relative to the "now" passed in.</summary>
public sealed record TelemetryLimits
{
    public int MaxRecordBytes { get; init; } = 16 * 1024;

    /// <summary>Agent clocks drift; beyond this a timestamp is a bug, not drift.</summary>
    public TimeSpan MaxClockAhead { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Older reports describe a state that is gone; they would only mislead the scheduler.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(1);

    public static TelemetryLimits Default { get; } = new();
}

/// <summary>
/// Turns raw telemetry bytes into samples (算力感知), checking the schema, units and ranges, and the
/// timestamp against <c>now</c>. Every problem is reported at once. Pure: bytes and time in, result out;
/// capacity and the agent token are checked by the node's actor, which knows them.
/// </summary>
public static class TelemetryParser
{
    // Generous bounds, as for registrations: anything above is a unit mistake.
    public const double MaxCores = 4096;
    public const double MaxGb = 1_000_000;
    public const double MaxGpus = 64;
    public const double MaxPowerW = 100_000;
    public const double MaxMbps = 10_000_000; // 10 Tbit/s
    public const double MaxLatencyMs = 60_000;
    public const int MaxTokenLength = 256;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };

    public static Parsed<NodeTelemetry> ParseNode(string? key, ReadOnlyMemory<byte> value, bool isTombstone, DateTimeOffset now, TelemetryLimits limits)
    {
        if (Preflight(value, isTombstone, limits) is { } problem) return Parsed<NodeTelemetry>.Invalid(problem);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, DocumentOptions);
        }
        catch (JsonException e)
        {
            return Parsed<NodeTelemetry>.Invalid($"malformed JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Parsed<NodeTelemetry>.Invalid($"expected a JSON object, got {root.ValueKind}");
            var errors = new List<string>();
            var nodeId = Id(root, "nodeId", errors);
            if (nodeId is not null && key is not null && key != nodeId)
                errors.Add($"record key '{Truncate(key)}' does not match nodeId '{Truncate(nodeId)}'");
            var token = Token(root, errors);
            var seq = Seq(root, errors);
            var ts = Timestamp(root, now, limits, errors);
            var cpu = Number(root, "cpuUsedCores", "cores", MaxCores, errors);
            var memory = Number(root, "memoryUsedGb", "GB", MaxGb, errors);
            var storage = Number(root, "storageUsedGb", "GB", MaxGb, errors);
            var gpu = Number(root, "gpuUsed", "devices", MaxGpus, errors);
            var power = Number(root, "powerW", "W", MaxPowerW, errors);
            var up = Bool(root, "up", errors);
            if (errors.Count > 0) return Parsed<NodeTelemetry>.Invalid(string.Join("; ", errors));
            return new Parsed<NodeTelemetry>(new NodeTelemetry(nodeId!, token!,
                new NodeUsageSample(seq!.Value, ts!.Value, cpu!.Value, memory!.Value, storage!.Value, gpu!.Value, power!.Value, up!.Value)), null);
        }
    }

    public static Parsed<LinkTelemetry> ParseLink(string? key, ReadOnlyMemory<byte> value, bool isTombstone, DateTimeOffset now, TelemetryLimits limits)
    {
        if (Preflight(value, isTombstone, limits) is { } problem) return Parsed<LinkTelemetry>.Invalid(problem);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, DocumentOptions);
        }
        catch (JsonException e)
        {
            return Parsed<LinkTelemetry>.Invalid($"malformed JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Parsed<LinkTelemetry>.Invalid($"expected a JSON object, got {root.ValueKind}");
            var errors = new List<string>();
            var src = Id(root, "src", errors);
            var dst = Id(root, "dst", errors);
            if (src is not null && src == dst) errors.Add($"src and dst are both '{Truncate(src)}'; a link joins two different nodes");
            if (src is not null && dst is not null && key is not null && key != $"{src}|{dst}")
                errors.Add($"record key '{Truncate(key)}' does not match '{Truncate(src)}|{Truncate(dst)}' (src|dst)");
            var token = Token(root, errors);
            var seq = Seq(root, errors);
            var ts = Timestamp(root, now, limits, errors);
            var capacity = Number(root, "capacityMbps", "Mbit/s", MaxMbps, errors, minExclusive: true);
            var available = Number(root, "availableMbps", "Mbit/s", MaxMbps, errors);
            if (capacity is { } c && available is { } a && a > c)
                errors.Add($"availableMbps ({a} Mbit/s) exceeds capacityMbps ({c} Mbit/s)");
            var latency = Number(root, "latencyMs", "ms", MaxLatencyMs, errors);
            var loss = Number(root, "lossRate", "fraction 0..1", 1, errors);
            var up = Bool(root, "up", errors);
            if (errors.Count > 0) return Parsed<LinkTelemetry>.Invalid(string.Join("; ", errors));
            return new Parsed<LinkTelemetry>(new LinkTelemetry(src!, dst!, token!,
                new LinkSample(seq!.Value, ts!.Value, capacity!.Value, available!.Value, latency!.Value, loss!.Value, up!.Value)), null);
        }
    }

    private static string? Preflight(ReadOnlyMemory<byte> value, bool isTombstone, TelemetryLimits limits)
    {
        if (isTombstone) return "a tombstone (null value) is not a telemetry report";
        if (value.Length > limits.MaxRecordBytes) return $"record is {value.Length} bytes, over the limit of {limits.MaxRecordBytes} bytes";
        return null;
    }

    private static string? Id(JsonElement root, string name, List<string> errors)
    {
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add($"missing required field '{name}'");
            return null;
        }
        if (property.ValueKind != JsonValueKind.String)
        {
            errors.Add($"'{name}' must be a string, got {Describe(property)}");
            return null;
        }
        var id = property.GetString()!;
        if (!RegistrationParser.IsValidId(id))
        {
            errors.Add($"{name} '{Truncate(id)}' must be 1–{RegistrationParser.MaxIdLength} characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
            return null;
        }
        return id;
    }

    private static string? Token(JsonElement root, List<string> errors)
    {
        if (!root.TryGetProperty("agentToken", out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add("missing required field 'agentToken' (the token from the node's provision-agent command)");
            return null;
        }
        if (property.ValueKind != JsonValueKind.String || property.GetString() is not { Length: > 0 and <= MaxTokenLength } token)
        {
            errors.Add($"'agentToken' must be a non-empty string of at most {MaxTokenLength} characters, got {Describe(property)}");
            return null;
        }
        return token;
    }

    private static long? Seq(JsonElement root, List<string> errors)
    {
        if (!root.TryGetProperty("seq", out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add("missing required field 'seq' (the agent's report counter)");
            return null;
        }
        if (property.ValueKind != JsonValueKind.Number || !property.TryGetInt64(out var seq) || seq < 0)
        {
            errors.Add($"'seq' must be a whole number ≥ 0, got {Describe(property)}");
            return null;
        }
        return seq;
    }

    private static long? Timestamp(JsonElement root, DateTimeOffset now, TelemetryLimits limits, List<string> errors)
    {
        if (!root.TryGetProperty("ts", out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add("missing required field 'ts' (UTC milliseconds since the Unix epoch)");
            return null;
        }
        if (property.ValueKind != JsonValueKind.Number || !property.TryGetInt64(out var ts))
        {
            errors.Add($"'ts' must be whole UTC milliseconds since the Unix epoch, got {Describe(property)}");
            return null;
        }
        var nowMs = now.ToUnixTimeMilliseconds();
        if (ts > nowMs + (long)limits.MaxClockAhead.TotalMilliseconds)
        {
            errors.Add($"'ts' = {ts} is {(ts - nowMs) / 1000.0:0.#} s in the future (at most {limits.MaxClockAhead.TotalSeconds:0} s of clock skew allowed)");
            return null;
        }
        if (ts < nowMs - (long)limits.MaxAge.TotalMilliseconds)
        {
            errors.Add($"'ts' = {ts} is {(nowMs - ts) / 1000.0:0.#} s old, staler than the limit of {limits.MaxAge.TotalSeconds:0} s (seconds, not milliseconds?)");
            return null;
        }
        return ts;
    }

    private static double? Number(JsonElement root, string name, string unit, double max, List<string> errors, bool minExclusive = false)
    {
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add($"missing required field '{name}' ({unit})");
            return null;
        }
        // JSON cannot carry NaN or Infinity as numbers; a string "NaN" lands here too.
        if (property.ValueKind != JsonValueKind.Number || !property.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            errors.Add($"'{name}' must be a finite number in {unit}, got {Describe(property)}");
            return null;
        }
        if ((minExclusive ? value <= 0 : value < 0) || value > max)
        {
            errors.Add($"'{name}' = {value} is out of range: must be {(minExclusive ? "above 0" : "at least 0")} and at most {max} ({unit})");
            return null;
        }
        return value;
    }

    private static bool? Bool(JsonElement root, string name, List<string> errors)
    {
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add($"missing required field '{name}' (true or false)");
            return null;
        }
        if (property.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors.Add($"'{name}' must be true or false, got {Describe(property)}");
            return null;
        }
        return property.GetBoolean();
    }
}
