using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ComputeNet.Actors.Model;
using ComputeNet.Actors.Persistence;

using static ComputeNet.Streams.JsonText;

namespace ComputeNet.Streams.Registration;

/// <summary>What one record on the registrations topic asks for, or why it cannot be accepted.</summary>
public abstract record RegistrationRequest
{
    public sealed record Register(NodeSpec Spec) : RegistrationRequest;

    public sealed record Deregister(string NodeId) : RegistrationRequest;

    public sealed record Invalid(string Reason) : RegistrationRequest;
}

/// <summary>
/// Turns the raw bytes of a registration record (算力注册) into a request, checking the schema
/// (schemas/registration.schema.json), units and plausible ranges. Every problem found is reported,
/// so a producer can fix its record in one go. Pure: bytes in, request out.
/// </summary>
public static partial class RegistrationParser
{
    public const int DefaultMaxRecordBytes = 64 * 1024;

    // Generous upper bounds: anything above is almost certainly a unit mistake (MB for GB, W for mW).
    public const double MaxCpuCores = 4096;
    public const double MaxMemoryGb = 65_536;
    public const double MaxStorageGb = 1_000_000;
    public const int MaxGpus = 64;
    public const double MaxPowerW = 100_000;
    public const double MaxCpuMipsPerCore = 1_000_000;
    public const int MaxLabels = 64;
    public const int MaxIdLength = 128;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
    private static partial Regex IdPattern();

    public static RegistrationRequest Parse(string? key, ReadOnlySpan<byte> value, bool isTombstone, int maxRecordBytes = DefaultMaxRecordBytes)
    {
        if (isTombstone)
        {
            return key is not null && IsValidNodeId(key)
                ? new RegistrationRequest.Deregister(key)
                : new RegistrationRequest.Invalid("tombstone (null value) without a valid node id as key");
        }

        if (value.Length > maxRecordBytes)
            return new RegistrationRequest.Invalid($"record is {value.Length} bytes, over the limit of {maxRecordBytes} bytes");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            return new RegistrationRequest.Invalid($"malformed JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new RegistrationRequest.Invalid($"expected a JSON object, got {root.ValueKind}");

            var errors = new List<string>();
            var nodeId = RequiredString(root, "nodeId", errors);
            if (nodeId is not null && !IsValidId(nodeId))
                errors.Add($"nodeId '{Truncate(nodeId)}' must be 1–{MaxIdLength} characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
            else if (nodeId is not null && !IsValidNodeId(nodeId))
                errors.Add(ReservedNodeIdError("nodeId", nodeId));
            if (nodeId is not null && key is not null && key != nodeId)
                errors.Add($"record key '{Truncate(key)}' does not match nodeId '{Truncate(nodeId)}'");

            var action = OptionalString(root, "action", errors) ?? "register";
            if (action == "deregister")
            {
                return errors.Count == 0 && nodeId is not null
                    ? new RegistrationRequest.Deregister(nodeId)
                    : new RegistrationRequest.Invalid(string.Join("; ", errors));
            }
            if (action != "register")
                errors.Add($"unknown action '{Truncate(action)}'; expected register or deregister");

            var region = RequiredString(root, "region", errors);
            if (region is not null && !IsValidId(region))
                errors.Add($"region '{Truncate(region)}' must be 1–{MaxIdLength} characters of letters, digits, '.', '_', ':' or '-'");
            var tier = ParseTier(RequiredString(root, "tier", errors), errors);
            var cpuCores = Number(root, "cpuCores", "cores", errors, required: true, min: 0, minExclusive: true, max: MaxCpuCores);
            var memoryGb = Number(root, "memoryGb", "GB", errors, required: true, min: 0, minExclusive: true, max: MaxMemoryGb);
            var storageGb = Number(root, "storageGb", "GB", errors, required: true, min: 0, minExclusive: false, max: MaxStorageGb);
            var gpus = Number(root, "gpus", "devices", errors, required: true, min: 0, minExclusive: false, max: MaxGpus);
            if (gpus is { } g && g != Math.Floor(g)) errors.Add($"gpus must be a whole number, got {g}");
            var reliability = Number(root, "reliability", "probability 0..1", errors, required: true, min: 0, minExclusive: false, max: 1);
            var idleW = Number(root, "powerIdleW", "W", errors, required: true, min: 0, minExclusive: false, max: MaxPowerW);
            var peakW = Number(root, "powerPeakW", "W", errors, required: true, min: 0, minExclusive: true, max: MaxPowerW);
            if (idleW is { } idle && peakW is { } peak && peak < idle)
                errors.Add($"powerPeakW ({peak} W) must not be below powerIdleW ({idle} W)");
            var mips = Number(root, "cpuMipsPerCore", "MIPS", errors, required: false, min: 0, minExclusive: true, max: MaxCpuMipsPerCore)
                       ?? NodeSpec.DefaultCpuMipsPerCore;
            var labels = Labels(root, errors);

            if (errors.Count > 0) return new RegistrationRequest.Invalid(string.Join("; ", errors));

            return new RegistrationRequest.Register(new NodeSpec(
                nodeId!, region!, tier!.Value, cpuCores!.Value, memoryGb!.Value, storageGb!.Value, (int)gpus!.Value,
                reliability!.Value, idleW!.Value, peakW!.Value, mips, labels));
        }
    }

    public static bool IsValidId(string id) => id.Length is > 0 and <= MaxIdLength && IdPattern().IsMatch(id);

    /// <summary>A valid id that may name a node: not starting with <see cref="PersistenceIds.ReservedNodeIdPrefix"/>.</summary>
    public static bool IsValidNodeId(string id) => IsValidId(id) && !id.StartsWith(PersistenceIds.ReservedNodeIdPrefix, StringComparison.Ordinal);

    public static string ReservedNodeIdError(string field, string nodeId) =>
        $"{field} '{Truncate(nodeId)}' must not start with '{PersistenceIds.ReservedNodeIdPrefix}': node x's telemetry journal is 'node-telemetry-x', the journal a node 'telemetry-x' would have";

    private static string? RequiredString(JsonElement root, string name, List<string> errors)
    {
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            errors.Add($"missing required field '{name}'");
            return null;
        }
        if (property.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.GetString()))
        {
            errors.Add($"'{name}' must be a non-empty string, got {Describe(property)}");
            return null;
        }
        return property.GetString();
    }

    private static string? OptionalString(JsonElement root, string name, List<string> errors)
    {
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null) return null;
        if (property.ValueKind == JsonValueKind.String) return property.GetString();
        errors.Add($"'{name}' must be a string, got {Describe(property)}");
        return null;
    }

    private static NodeTier? ParseTier(string? tier, List<string> errors)
    {
        switch (tier)
        {
            case null: return null;
            case "cloud": return NodeTier.Cloud;
            case "edge": return NodeTier.Edge;
            case "device": return NodeTier.Device;
            default:
                errors.Add($"unknown tier '{Truncate(tier)}'; expected cloud, edge or device");
                return null;
        }
    }

    private static double? Number(JsonElement root, string name, string unit, List<string> errors, bool required, double min, bool minExclusive, double max)
    {
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            if (required) errors.Add($"missing required field '{name}' ({unit})");
            return null;
        }
        if (property.ValueKind != JsonValueKind.Number || !property.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            errors.Add($"'{name}' must be a number in {unit}, got {Describe(property)}");
            return null;
        }
        var tooLow = minExclusive ? value <= min : value < min;
        if (tooLow || value > max)
        {
            var lower = minExclusive ? $"above {min}" : $"at least {min}";
            errors.Add($"'{name}' = {value} is out of range: must be {lower} and at most {max} ({unit})");
            return null;
        }
        return value;
    }

    private static IReadOnlyDictionary<string, string> Labels(JsonElement root, List<string> errors)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("labels", out var property) || property.ValueKind == JsonValueKind.Null) return labels;
        if (property.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"'labels' must be an object of string values, got {Describe(property)}");
            return labels;
        }
        foreach (var label in property.EnumerateObject())
        {
            if (label.Value.ValueKind != JsonValueKind.String)
                errors.Add($"label '{Truncate(label.Name)}' must have a string value, got {Describe(label.Value)}");
            else
                labels[label.Name] = label.Value.GetString()!;
        }
        if (labels.Count > MaxLabels) errors.Add($"at most {MaxLabels} labels are allowed, got {labels.Count}");
        return labels;
    }
}
