using System.Text.Json;
using ComputeNet.Streams;

namespace ComputeNet.Streams.DeadLetters;

/// <summary>
/// What lands on the dead-letter topic for a rejected record: where it came from, why it was
/// rejected, and its original bytes (Base64, plus the text when it is valid UTF-8), so nothing is
/// lost and an operator can replay a corrected record.
/// </summary>
public sealed record DeadLetterRecord(
    string Reason,
    string SourceTopic,
    int SourcePartition,
    long SourceOffset,
    string? Key,
    string? OriginalValueBase64,
    string? OriginalValueText,
    int OriginalSizeBytes,
    bool OriginalTruncated,
    DateTimeOffset DeadLetteredAt)
{
    /// <summary>Keeps a dead letter well under the broker's default 1 MB message limit.</summary>
    public const int MaxOriginalBytesKept = 256 * 1024;

    public static DeadLetterRecord Create(string reason, string topic, int partition, long offset, string? key, byte[]? value, DateTimeOffset now)
    {
        var kept = value is null ? null : value.Length > MaxOriginalBytesKept ? value[..MaxOriginalBytesKept] : value;
        return new DeadLetterRecord(
            reason, topic, partition, offset, key,
            kept is null ? null : Convert.ToBase64String(kept),
            kept is null ? null : JsonText.AsText(kept),
            value?.Length ?? 0,
            value is not null && value.Length > MaxOriginalBytesKept,
            now);
    }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static DeadLetterRecord FromJsonBytes(byte[] bytes) =>
        JsonSerializer.Deserialize<DeadLetterRecord>(bytes, JsonOptions) ?? throw new JsonException("null dead letter");

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
