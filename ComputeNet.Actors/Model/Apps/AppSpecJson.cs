using System.Text.Json;
using System.Text.Json.Serialization;

namespace ComputeNet.Actors.Model.Apps;

/// <summary>The one JSON shape of an application spec: camelCase, enums as camelCase strings, unknown fields refused.</summary>
public static class AppSpecJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // A misspelt field ("cpucores") silently meaning zero would be worse than an error naming it.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>Parses without validating; throws <see cref="JsonException"/> on malformed input.</summary>
    public static AppSpec Parse(string json) =>
        JsonSerializer.Deserialize<AppSpec>(json, Options) ?? throw new JsonException("The spec is null.");

    public static string Serialize(AppSpec spec) => JsonSerializer.Serialize(spec, Options);
}
