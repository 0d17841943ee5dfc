using System.Text;
using System.Text.Json;

namespace ComputeNet.Streams;

/// <summary>How the record parsers quote what they received in their error messages.</summary>
public static class JsonText
{
    /// <summary>What a JSON value is, in words, for "expected X, got Y" messages.</summary>
    public static string Describe(JsonElement element) => Describe(element.ValueKind, element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => null,
    });

    /// <summary>The same, for a value of the given kind: <paramref name="text"/> is a string's value, or a number's or boolean's JSON text.</summary>
    public static string Describe(JsonValueKind kind, string? text) => kind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(text ?? "")}\"",
        JsonValueKind.Number => $"the number {text}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {text}",
        _ => kind.ToString().ToLowerInvariant(),
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
