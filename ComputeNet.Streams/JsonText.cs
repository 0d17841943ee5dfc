using System.Text;
using System.Text.Json;

namespace ComputeNet.Streams;

/// <summary>How the record parsers quote what they received in their error messages.</summary>
public static class JsonText
{
    /// <summary>What a JSON value is, in words, for "expected X, got Y" messages.</summary>
    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(element.GetString() ?? "")}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {element.GetRawText()}",
        _ => element.ValueKind.ToString().ToLowerInvariant(),
    };

    /// <summary>Keeps quoted input short so one huge field cannot bloat a dead letter's reason.</summary>
    public static string Truncate(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 61), "...");

    /// <summary>Decodes bytes as UTF-8 for display, or null when they are not valid UTF-8 text.</summary>
    public static string? AsText(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
