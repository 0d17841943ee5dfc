using System.Text;
using System.Text.Json;
using System.Text.Unicode;
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
/// timestamp against <c>now</c>. Every problem is reported at once. Reads the bytes once with a
/// <see cref="Utf8JsonReader"/> (no document, no strings but the ids and token it returns). Pure: bytes and time in, result out;
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

    // JSON nested deeper than this is not telemetry; the reader stops at it instead of walking it.
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 8 };

    // The fields each report may carry, by slot; anything else in the object is skipped.
    private static readonly byte[][] NodeFields =
    [
        "nodeId"u8.ToArray(), "agentToken"u8.ToArray(), "seq"u8.ToArray(), "ts"u8.ToArray(), "cpuUsedCores"u8.ToArray(),
        "memoryUsedGb"u8.ToArray(), "storageUsedGb"u8.ToArray(), "gpuUsed"u8.ToArray(), "powerW"u8.ToArray(), "up"u8.ToArray(),
    ];

    private static readonly byte[][] LinkFields =
    [
        "src"u8.ToArray(), "dst"u8.ToArray(), "agentToken"u8.ToArray(), "seq"u8.ToArray(), "ts"u8.ToArray(), "capacityMbps"u8.ToArray(),
        "availableMbps"u8.ToArray(), "latencyMs"u8.ToArray(), "lossRate"u8.ToArray(), "up"u8.ToArray(),
    ];

    public static Parsed<NodeTelemetry> ParseNode(string? key, ReadOnlyMemory<byte> value, bool isTombstone, DateTimeOffset now, TelemetryLimits limits)
    {
        if (Preflight(value, isTombstone, limits) is { } problem) return Parsed<NodeTelemetry>.Invalid(problem);
        var json = value.Span;
        Span<Field> fields = stackalloc Field[NodeFields.Length];
        if (Scan(json, NodeFields, fields) is { } malformed) return Parsed<NodeTelemetry>.Invalid(malformed);
        List<string>? errors = null;
        var nodeId = Id(json, fields[0], "nodeId", ref errors);
        if (nodeId is not null && key is not null && key != nodeId)
            Add(ref errors, $"record key '{Truncate(key)}' does not match nodeId '{Truncate(nodeId)}'");
        var token = Token(json, fields[1], ref errors);
        var seq = Seq(json, fields[2], ref errors);
        var ts = Timestamp(json, fields[3], now, limits, ref errors);
        var cpu = Number(json, fields[4], "cpuUsedCores", "cores", MaxCores, ref errors);
        var memory = Number(json, fields[5], "memoryUsedGb", "GB", MaxGb, ref errors);
        var storage = Number(json, fields[6], "storageUsedGb", "GB", MaxGb, ref errors);
        var gpu = Number(json, fields[7], "gpuUsed", "devices", MaxGpus, ref errors);
        var power = Number(json, fields[8], "powerW", "W", MaxPowerW, ref errors);
        var up = Bool(json, fields[9], "up", ref errors);
        if (errors is not null) return Parsed<NodeTelemetry>.Invalid(string.Join("; ", errors));
        return new Parsed<NodeTelemetry>(new NodeTelemetry(nodeId!, token!,
            new NodeUsageSample(seq!.Value, ts!.Value, cpu!.Value, memory!.Value, storage!.Value, gpu!.Value, power!.Value, up!.Value)), null);
    }

    public static Parsed<LinkTelemetry> ParseLink(string? key, ReadOnlyMemory<byte> value, bool isTombstone, DateTimeOffset now, TelemetryLimits limits)
    {
        if (Preflight(value, isTombstone, limits) is { } problem) return Parsed<LinkTelemetry>.Invalid(problem);
        var json = value.Span;
        Span<Field> fields = stackalloc Field[LinkFields.Length];
        if (Scan(json, LinkFields, fields) is { } malformed) return Parsed<LinkTelemetry>.Invalid(malformed);
        List<string>? errors = null;
        var src = Id(json, fields[0], "src", ref errors);
        var dst = Id(json, fields[1], "dst", ref errors);
        if (src is not null && src == dst) Add(ref errors, $"src and dst are both '{Truncate(src)}'; a link joins two different nodes");
        if (src is not null && dst is not null && key is not null && !IsLinkKey(key, src, dst))
            Add(ref errors, $"record key '{Truncate(key)}' does not match '{Truncate(src)}|{Truncate(dst)}' (src|dst)");
        var token = Token(json, fields[2], ref errors);
        var seq = Seq(json, fields[3], ref errors);
        var ts = Timestamp(json, fields[4], now, limits, ref errors);
        var capacity = Number(json, fields[5], "capacityMbps", "Mbit/s", MaxMbps, ref errors, minExclusive: true);
        var available = Number(json, fields[6], "availableMbps", "Mbit/s", MaxMbps, ref errors);
        if (capacity is { } c && available is { } a && a > c)
            Add(ref errors, $"availableMbps ({a} Mbit/s) exceeds capacityMbps ({c} Mbit/s)");
        var latency = Number(json, fields[7], "latencyMs", "ms", MaxLatencyMs, ref errors);
        var loss = Number(json, fields[8], "lossRate", "fraction 0..1", 1, ref errors);
        var up = Bool(json, fields[9], "up", ref errors);
        if (errors is not null) return Parsed<LinkTelemetry>.Invalid(string.Join("; ", errors));
        return new Parsed<LinkTelemetry>(new LinkTelemetry(src!, dst!, token!,
            new LinkSample(seq!.Value, ts!.Value, capacity!.Value, available!.Value, latency!.Value, loss!.Value, up!.Value)), null);
    }

    /// <summary>"src|dst", compared without building the string.</summary>
    private static bool IsLinkKey(string key, string src, string dst) =>
        key.Length == src.Length + 1 + dst.Length && key.StartsWith(src, StringComparison.Ordinal) && key[src.Length] == '|' &&
        key.EndsWith(dst, StringComparison.Ordinal);

    private static string? Preflight(ReadOnlyMemory<byte> value, bool isTombstone, TelemetryLimits limits)
    {
        if (isTombstone) return "a tombstone (null value) is not a telemetry report";
        if (value.Length > limits.MaxRecordBytes) return $"record is {value.Length} bytes, over the limit of {limits.MaxRecordBytes} bytes";
        return null;
    }

    /// <summary>
    /// Where one expected field's value sits in the record (its last occurrence: with a name given twice, the later
    /// value counts) and what kind it is; numbers are converted while the reader is on them.
    /// </summary>
    private struct Field
    {
        public JsonValueKind Kind; // Undefined: not present
        public bool IsEscaped; // a string with escape sequences: its bytes are not its value
        public int Start;
        public int End;
        public bool IsInt64;
        public long Int64;
        public bool IsDouble;
        public double Double;
    }

    /// <summary>
    /// Reads the whole record once (so malformed JSON anywhere, also after the object, is reported as such), noting
    /// where each expected field's value is. Returns why the record is not a JSON object, or null.
    /// </summary>
    private static string? Scan(ReadOnlySpan<byte> json, byte[][] names, Span<Field> fields)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                var kind = KindOf(reader.TokenType);
                reader.Skip();
                EndOfInput(ref reader);
                return $"expected a JSON object, got {kind}";
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var slot = -1;
                for (var i = 0; i < names.Length; i++)
                {
                    if (!reader.ValueTextEquals(names[i])) continue;
                    slot = i;
                    break;
                }
                reader.Read();
                if (slot >= 0) fields[slot] = Note(ref reader);
                reader.Skip(); // nested values of fields nobody asked for, or of ones that must not be nested
            }
            EndOfInput(ref reader);
            return null;
        }
        catch (JsonException e)
        {
            return $"malformed JSON: {e.Message}";
        }
    }

    private static Field Note(ref Utf8JsonReader reader)
    {
        var field = new Field { Kind = KindOf(reader.TokenType), Start = (int)reader.TokenStartIndex, IsEscaped = reader.ValueIsEscaped };
        if (reader.TokenType == JsonTokenType.Number)
        {
            field.IsInt64 = reader.TryGetInt64(out field.Int64);
            field.IsDouble = reader.TryGetDouble(out field.Double);
        }
        // Objects and arrays are only ever described, never quoted, so their end does not matter.
        field.End = (int)reader.BytesConsumed;
        return field;
    }

    /// <summary>Only whitespace may follow the value; the reader throws on anything else.</summary>
    private static void EndOfInput(ref Utf8JsonReader reader)
    {
        if (reader.Read()) throw new InvalidOperationException("the JSON reader continued past the end of the value");
    }

    private static JsonValueKind KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => JsonValueKind.Object,
        JsonTokenType.StartArray => JsonValueKind.Array,
        JsonTokenType.String => JsonValueKind.String,
        JsonTokenType.Number => JsonValueKind.Number,
        JsonTokenType.True => JsonValueKind.True,
        JsonTokenType.False => JsonValueKind.False,
        JsonTokenType.Null => JsonValueKind.Null,
        _ => JsonValueKind.Undefined,
    };

    private static bool IsMissing(in Field field) => field.Kind is JsonValueKind.Undefined or JsonValueKind.Null;

    /// <summary>
    /// A string field's value, unescaped (its bytes are read again: most strings are never decoded). Without escapes the
    /// bytes between the quotes are the value, and the ids and tokens every record repeats come from the shared pool.
    /// </summary>
    private static string StringOf(ReadOnlySpan<byte> json, in Field field)
    {
        var raw = json[(field.Start + 1)..(field.End - 1)];
        // Invalid UTF-8 goes the reader's way, which refuses it (the record is dead-lettered as malformed).
        if (!field.IsEscaped && Utf8.IsValid(raw)) return Utf8StringPool.Shared.Get(raw);
        var reader = new Utf8JsonReader(json[field.Start..field.End], ReaderOptions);
        reader.Read();
        return reader.GetString()!;
    }

    private static string Describe(ReadOnlySpan<byte> json, in Field field) => field.Kind switch
    {
        JsonValueKind.String => JsonText.Describe(field.Kind, StringOf(json, field)),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => JsonText.Describe(field.Kind, Encoding.UTF8.GetString(json[field.Start..field.End])),
        _ => JsonText.Describe(field.Kind, null),
    };

    private static void Add(ref List<string>? errors, string error) => (errors ??= []).Add(error);

    private static string? Id(ReadOnlySpan<byte> json, in Field field, string name, ref List<string>? errors)
    {
        if (IsMissing(field))
        {
            Add(ref errors, $"missing required field '{name}'");
            return null;
        }
        if (field.Kind != JsonValueKind.String)
        {
            Add(ref errors, $"'{name}' must be a string, got {Describe(json, field)}");
            return null;
        }
        var id = StringOf(json, field);
        if (!RegistrationParser.IsValidId(id))
        {
            Add(ref errors, $"{name} '{Truncate(id)}' must be 1–{RegistrationParser.MaxIdLength} characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
            return null;
        }
        if (!RegistrationParser.IsValidNodeId(id))
        {
            Add(ref errors, RegistrationParser.ReservedNodeIdError(name, id));
            return null;
        }
        return id;
    }

    private static string? Token(ReadOnlySpan<byte> json, in Field field, ref List<string>? errors)
    {
        if (IsMissing(field))
        {
            Add(ref errors, "missing required field 'agentToken' (the token from the node's provision-agent command)");
            return null;
        }
        if (field.Kind != JsonValueKind.String || StringOf(json, field) is not { Length: > 0 and <= MaxTokenLength } token)
        {
            Add(ref errors, $"'agentToken' must be a non-empty string of at most {MaxTokenLength} characters, got {Describe(json, field)}");
            return null;
        }
        return token;
    }

    private static long? Seq(ReadOnlySpan<byte> json, in Field field, ref List<string>? errors)
    {
        if (IsMissing(field))
        {
            Add(ref errors, "missing required field 'seq' (the agent's report counter)");
            return null;
        }
        if (field.Kind != JsonValueKind.Number || !field.IsInt64 || field.Int64 < 0)
        {
            Add(ref errors, $"'seq' must be a whole number ≥ 0, got {Describe(json, field)}");
            return null;
        }
        return field.Int64;
    }

    private static long? Timestamp(ReadOnlySpan<byte> json, in Field field, DateTimeOffset now, TelemetryLimits limits, ref List<string>? errors)
    {
        if (IsMissing(field))
        {
            Add(ref errors, "missing required field 'ts' (UTC milliseconds since the Unix epoch)");
            return null;
        }
        if (field.Kind != JsonValueKind.Number || !field.IsInt64)
        {
            Add(ref errors, $"'ts' must be whole UTC milliseconds since the Unix epoch, got {Describe(json, field)}");
            return null;
        }
        var ts = field.Int64;
        var nowMs = now.ToUnixTimeMilliseconds();
        if (ts > nowMs + (long)limits.MaxClockAhead.TotalMilliseconds)
        {
            Add(ref errors, $"'ts' = {ts} is {(ts - nowMs) / 1000.0:0.#} s in the future (at most {limits.MaxClockAhead.TotalSeconds:0} s of clock skew allowed)");
            return null;
        }
        if (ts < nowMs - (long)limits.MaxAge.TotalMilliseconds)
        {
            Add(ref errors, $"'ts' = {ts} is {(nowMs - ts) / 1000.0:0.#} s old, staler than the limit of {limits.MaxAge.TotalSeconds:0} s (seconds, not milliseconds?)");
            return null;
        }
        return ts;
    }

    private static double? Number(ReadOnlySpan<byte> json, in Field field, string name, string unit, double max, ref List<string>? errors, bool minExclusive = false)
    {
        if (IsMissing(field))
        {
            Add(ref errors, $"missing required field '{name}' ({unit})");
            return null;
        }
        // JSON cannot carry NaN or Infinity as numbers; a string "NaN" lands here too.
        if (field.Kind != JsonValueKind.Number || !field.IsDouble || !double.IsFinite(field.Double))
        {
            Add(ref errors, $"'{name}' must be a finite number in {unit}, got {Describe(json, field)}");
            return null;
        }
        var value = field.Double;
        if ((minExclusive ? value <= 0 : value < 0) || value > max)
        {
            Add(ref errors, $"'{name}' = {value} is out of range: must be {(minExclusive ? "above 0" : "at least 0")} and at most {max} ({unit})");
            return null;
        }
        return value;
    }

    private static bool? Bool(ReadOnlySpan<byte> json, in Field field, string name, ref List<string>? errors)
    {
        if (IsMissing(field))
        {
            Add(ref errors, $"missing required field '{name}' (true or false)");
            return null;
        }
        if (field.Kind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Add(ref errors, $"'{name}' must be true or false, got {Describe(json, field)}");
            return null;
        }
        return field.Kind == JsonValueKind.True;
    }
}
